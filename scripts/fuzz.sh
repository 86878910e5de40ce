#!/usr/bin/env bash
# Builds the libFuzzer targets (native/fuzz/*_fuzzer.cpp: each such file is a target, so a
# new one is run here and in CI without being listed) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, then runs each for FUZZ_SECONDS seconds (default 60) with
# its dictionary (native/fuzz/<name>.dict, else the HTTP/1 one) and its seeds
# (native/fuzz/corpus/<name>/; client_tls's include ClientHellos from openssl s_client).
# Each target works on a copy of its seed corpus under .fuzz-work/ (git-ignored), so what
# it learns accumulates between runs without touching native/fuzz/corpus. Exits non-zero
# if any target finds a crash, a sanitizer report or a broken invariant; the input that
# did it is left in .fuzz-work/<target>/artifacts/.
#
#   FUZZ_SECONDS=600 scripts/fuzz.sh                      # all targets, 10 minutes each
#   scripts/fuzz.sh chunked_decoder_fuzzer                # only the named targets
#   FUZZ_ARGS="-jobs=4 -workers=4" scripts/fuzz.sh        # extra libFuzzer flags
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
build_dir=build-fuzz
work_dir=.fuzz-work

# libFuzzer comes with clang (on Debian/Ubuntu its runtime is in libclang-rt-<N>-dev).
ensure_clang() {
  if command -v clang++ >/dev/null 2>&1; then return; fi
  echo "fuzz: clang++ not found, installing it with apt-get" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  $sudo apt-get install -y clang
  local major
  major="$(clang++ --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n1)"
  if [ -n "$major" ] && apt-cache show "libclang-rt-${major}-dev" >/dev/null 2>&1; then
    $sudo apt-get install -y "libclang-rt-${major}-dev"
  fi
}
ensure_clang

cmake -S . -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLB_FUZZ=ON -DLB_TESTS=OFF -DLB_SANITIZE=address,undefined

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for source in native/fuzz/*_fuzzer.cpp; do
    targets+=("$(basename "$source" .cpp)")
  done
fi

cmake --build "$build_dir" --parallel "$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for target in "${targets[@]}"; do
  name="${target%_fuzzer}"
  corpus="$work_dir/$target/corpus"
  artifacts="$work_dir/$target/artifacts"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "native/fuzz/corpus/$name" ]; then
    cp -n native/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  fi
  dict="native/fuzz/http1.dict"
  if [ -f "native/fuzz/$name.dict" ]; then dict="native/fuzz/$name.dict"; fi
  echo "fuzz: $target for ${seconds}s"
  # The fuzzer's own exit status decides (grep only trims the log to the summary lines).
  set +e
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  "./$build_dir/$target" "$corpus" \
    -dict="$dict" \
    -max_total_time="$seconds" \
    -timeout=10 \
    -rss_limit_mb=4096 \
    -print_final_stats=1 \
    -artifact_prefix="$artifacts/" \
    ${FUZZ_ARGS:-} 2>&1 | tee "$work_dir/$target/last-run.log" |
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::|ERROR|invariant failed|^SUMMARY'
  status="${PIPESTATUS[0]}"
  set -e
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $target FAILED (exit $status):" \
      "see $work_dir/$target/last-run.log and $artifacts/" >&2
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: failures in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a failure"
