#!/usr/bin/env bash
# Installs what the benchmark harness (npm run bench) drives, if missing: wrk (load
# generator), haproxy and nginx (peers; nginx is also the backend), strace (syscall counts)
# and taskset (for --pin): the `bench` rows of test/setup/test-peers.txt.
exec bash "$(dirname "$0")/install-test-peers.sh" bench
