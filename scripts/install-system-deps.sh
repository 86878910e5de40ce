#!/usr/bin/env bash
# Installs, from Debian's packages, what building and testing lb-native needs and the
# machine lacks: a C++ compiler, make and python3 (node-gyp), cmake (cmake-js builds and
# the C++ tests), clang with libFuzzer's runtime (fuzzers). Needs root (or sudo).
set -euo pipefail

need=()
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
command -v cmake >/dev/null || need+=(cmake)
command -v clang++ >/dev/null || need+=(clang)
# libFuzzer's runtime ships with clang's compiler-rt.
if command -v clang++ >/dev/null; then
  clang_lib="$(clang++ -print-runtime-dir 2>/dev/null || true)"
  ls "$clang_lib"/libclang_rt.fuzzer*.a >/dev/null 2>&1 || need+=(libclang-rt-dev)
fi
if [ "${#need[@]}" -eq 0 ]; then
  echo "system dependencies: all present"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "system dependencies: installing ${need[*]}"
"${sudo_cmd[@]}" apt-get update -qq
# libclang-rt-dev is the unversioned name on newer Debian; bookworm names it by version.
if [[ " ${need[*]} " == *" libclang-rt-dev "* ]] && ! apt-cache show libclang-rt-dev >/dev/null 2>&1; then
  version="$(clang++ --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)"
  need=("${need[@]/libclang-rt-dev/libclang-rt-${version}-dev}")
fi
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}"

# A freshly installed clang may still lack the fuzzer runtime.
clang_lib="$(clang++ -print-runtime-dir)"
if ! ls "$clang_lib"/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
  version="$(clang++ --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "libclang-rt-${version}-dev"
fi
