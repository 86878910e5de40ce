#!/usr/bin/env bash
# Installs, from Debian's packages, what building and testing lb-native needs and the
# machine lacks: a C++ compiler, make and python3 (node-gyp), cmake (cmake-js builds and
# the C++ tests), clang with libFuzzer's runtime (fuzzers), clang-format (the format
# check), libssl-dev (native/tls in the CMake builds), libnghttp2-dev (native/http2's
# header in every build, its library in the CMake builds). Needs root (or sudo).
set -euo pipefail

need=()
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
command -v cmake >/dev/null || need+=(cmake)
command -v clang++ >/dev/null || need+=(clang)
command -v clang-format >/dev/null || need+=(clang-format)
# OpenSSL's headers and libraries for the CMake builds (C++ tests, fuzzers, sanitizer
# builds); the addon npm install builds uses the OpenSSL inside Node instead.
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
# nghttp2's header for every build (node ships none; the addon uses node's nghttp2) and its
# library for the CMake builds.
[ -f /usr/include/nghttp2/nghttp2.h ] || need+=(libnghttp2-dev)
# libFuzzer's runtime ships with clang's compiler-rt, packaged under clang's version.
fuzzer_runtime_present() {
  command -v clang++ >/dev/null && ls "$(clang++ -print-runtime-dir 2>/dev/null)"/libclang_rt.fuzzer*.a >/dev/null 2>&1
}
if [ "${#need[@]}" -eq 0 ] && fuzzer_runtime_present; then
  echo "system dependencies: all present"
  exit 0
fi

# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"
if [ "${#need[@]}" -gt 0 ]; then apt_install "system dependencies" "${need[@]}"; fi
if ! fuzzer_runtime_present; then
  version="$(clang++ --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)"
  apt_install "system dependencies" "libclang-rt-${version}-dev"
fi
