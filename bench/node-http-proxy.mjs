#!/usr/bin/env node
// Baseline proxy for the bench: node's http server + the http-proxy package, round-robin
// over the backends through a keep-alive http.Agent (pooled upstream connections).
//   node bench/node-http-proxy.mjs --listen 127.0.0.1:8080 --backend 127.0.0.1:9001 --backend 127.0.0.1:9002
//   [--mode proxy|redirect] [--pool 512]
// Single process, single JS thread (the "1 worker" configuration).
import http from 'node:http';
import httpProxy from 'http-proxy';

const args = process.argv.slice(2);
let listen = '127.0.0.1:8080';
let mode = 'proxy';
let pool = 512;
const backends = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = () => {
    const n = args[++i];
    if (n == null) throw new Error(`${a} needs a value`);
    return n;
  };
  if (a === '--listen') listen = v();
  else if (a === '--backend') backends.push(v());
  else if (a === '--mode') mode = v();
  else if (a === '--pool') pool = Number(v());
  else {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
}
if (!backends.length) {
  console.error('at least one --backend host:port is required');
  process.exit(2);
}
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
const targets = backends.map((b) => `http://${b}`);

// maxFreeSockets is per host:port, like a per-backend idle pool.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: pool, scheduling: 'lifo' });
const proxy = httpProxy.createProxyServer({ agent, xfwd: false, ws: false });
proxy.on('error', (err, req, res) => {
  // A request's error comes with its ServerResponse (an upgrade's would be a Socket: ws is off).
  const response = /** @type {http.ServerResponse} */ (res);
  if (response && typeof response.writeHead === 'function') {
    if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
    response.end('bad gateway\n');
  }
});

// Connection is hop-by-hop. Upstream: don't forward a client's "Connection: close", so the
// pooled socket stays open (nginx does the same with proxy_set_header Connection "").
// Downstream: don't copy the backend's "connection: keep-alive" onto a response to a
// client that asked to close; http-proxy then derives it from the client's request.
proxy.on('proxyReq', (proxyReq) => proxyReq.removeHeader('connection'));
proxy.on('proxyRes', (proxyRes) => {
  delete proxyRes.headers.connection;
  delete proxyRes.headers['keep-alive'];
});

let next = 0;
const server = http.createServer((req, res) => {
  const target = /** @type {string} */ (targets[next]);
  next = (next + 1) % targets.length;
  if (mode === 'redirect') {
    res.writeHead(307, { location: target + /** @type {string} */ (req.url), 'content-length': '0' });
    res.end();
    return;
  }
  proxy.web(req, res, { target });
});
server.keepAliveTimeout = 300_000;
server.headersTimeout = 60_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;
server.listen(port, host, () => {
  console.log(`node-http-proxy listening on ${host}:${port} (${mode}, ${targets.length} backends)`);
});
const stop = () => {
  server.close();
  agent.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
