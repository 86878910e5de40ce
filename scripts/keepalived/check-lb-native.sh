#!/bin/sh
# keepalived health check for lb-native: exits 0 when lb-native's admin API answers and at
# least one backend is usable (state 'ready' and health not 'down'), non-zero otherwise:
#   1  the admin API answered, but no backend is usable
#   2  the admin API did not answer in time, or answered something else than stats
#   3  node was not found
# keepalived runs it every `interval` seconds (see keepalived.conf.example); after `fall`
# failures in a row this node gives up the floating address.
#
# Settings (environment): LB_ADMIN_URL (default http://127.0.0.1:9100/stats),
# LB_CHECK_TIMEOUT_MS (default 1500), LB_NODE (the node binary; default: node on PATH).
set -u

url="${LB_ADMIN_URL:-http://127.0.0.1:9100/stats}"
timeout_ms="${LB_CHECK_TIMEOUT_MS:-1500}"
node_bin="${LB_NODE:-}"
if [ -z "$node_bin" ]; then
  node_bin="$(command -v node 2>/dev/null || true)"
fi
if [ -z "$node_bin" ]; then
  # keepalived runs scripts with its own PATH; point LB_NODE at node if it is elsewhere.
  echo "check-lb-native: node not found on PATH (set LB_NODE)" >&2
  exit 3
fi

# node's http module loads faster than fetch: the check stays well under a second.
exec "$node_bin" -e '
const [url, timeoutMs] = process.argv.slice(1);
const fail = (code, message) => {
  console.error(`check-lb-native: ${message}`);
  process.exit(code);
};
const req = require("http").get(url, { timeout: Number(timeoutMs) }, (res) => {
  let body = "";
  res.setEncoding("utf8").on("data", (chunk) => (body += chunk));
  res.on("end", () => {
    if (res.statusCode !== 200) fail(2, `${url}: HTTP ${res.statusCode}`);
    let stats;
    try {
      stats = JSON.parse(body);
    } catch {
      fail(2, `${url}: the answer is not JSON`);
    }
    const backends = Array.isArray(stats && stats.backends) ? stats.backends : undefined;
    if (!backends) fail(2, `${url}: no backends list in the answer`);
    const usable = backends.filter((b) => b && b.state === "ready" && b.health !== "down");
    if (usable.length === 0) fail(1, `none of ${backends.length} backends is usable`);
    process.exit(0);
  });
});
req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
req.on("error", (error) => fail(2, `${url}: ${error.message}`));
' "$url" "$timeout_ms"
