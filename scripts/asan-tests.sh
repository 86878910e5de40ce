#!/usr/bin/env bash
# Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer through cmake-js
# and runs the whole vitest suite against it. Any sanitizer report aborts the process
# that hit it, which fails the test that spawned or ran it.
set -euo pipefail
cd "$(dirname "$0")/.."

npx cmake-js build --out build-asan --CDLB_SANITIZE=address,undefined --CDCMAKE_BUILD_TYPE=RelWithDebInfo

# node itself is not built with ASan, so the runtimes are preloaded. Leak checking is off:
# node's own allocations at exit would drown real reports (fd and RSS leaks are checked by
# the soak and lifecycle tests instead).
asan_runtime="$(gcc -print-file-name=libasan.so)"
ubsan_runtime="$(gcc -print-file-name=libubsan.so)"
export LD_PRELOAD="$asan_runtime:$ubsan_runtime"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LB_NATIVE_ADDON="$PWD/build-asan/Release/lb_native.node"
npx vitest run "$@"
