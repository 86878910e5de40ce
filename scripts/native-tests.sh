#!/usr/bin/env bash
# Builds the C++ unit tests (native/tests) against the core library with AddressSanitizer
# and UndefinedBehaviorSanitizer, and runs them. Extra arguments are passed to the test
# binary (a substring filter on test names, e.g. `scripts/native-tests.sh chunked`).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-native-tests

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DLB_SANITIZE=address,undefined
cmake --build "$build_dir" --target lb_native_tests --parallel "$(nproc 2>/dev/null || echo 2)"

# halt_on_error: a sanitizer report fails the run even where recovery would be possible.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
"./$build_dir/lb_native_tests" "$@"
