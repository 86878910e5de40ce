#!/usr/bin/env bash
# Installs the headless browser the dashboard tests drive (Debian's chromium at
# /usr/bin/chromium), if it is missing: the dashboard's row of test/setup/test-peers.txt.
exec bash "$(dirname "$0")/install-test-peers.sh" test/admin/dashboard.test.ts
