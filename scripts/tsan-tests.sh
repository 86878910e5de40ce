#!/usr/bin/env bash
# The worker/control-plane boundary under ThreadSanitizer: builds the C++ tests with
# -fsanitize=thread and runs the ones that drive a real multi-worker Balancer from
# several threads (configuration updates, stats, listener moves and event draining while
# traffic flows), and the ones that hammer the limits workers share through bare atomics
# (shared_limits_threads: the per-client connection table, maxConnections slots). The core
# has no Node dependency, so no instrumented Node is needed.
#
#   scripts/tsan-tests.sh                    # every group below
#   scripts/tsan-tests.sh shared_limits      # only the tests whose name contains this
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-tsan-tests
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_SANITIZE=thread
cmake --build "$build_dir" --target lb_native_tests --parallel "$(nproc 2>/dev/null || echo 2)"

export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
if [ "$#" -gt 0 ]; then
  filters=("$@")
else
  filters=(balancer_threads shared_limits_threads)
fi
for filter in "${filters[@]}"; do
  echo "tsan: tests matching $filter"
  "./$build_dir/lb_native_tests" "$filter"
done
