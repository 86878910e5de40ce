#!/usr/bin/env bash
# Installs what the discovery tests drive (dnsmasq, etcd, keepalived, ip), if missing: the
# rows of test/setup/test-peers.txt for test/discovery and test/reload/discovery.test.ts.
exec bash "$(dirname "$0")/install-test-peers.sh" test/discovery test/reload/discovery.test.ts
