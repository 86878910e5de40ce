// One-shot correctness probe of a freshly started proxy: a few requests, each on a new
// connection, checking status, body and (for proxies) that both backends answer.
import http from 'node:http';
import { BODY_FILES } from './servers.mjs';

/**
 * A response (a client request always has a status), or `error` alone: why there was
 * none (callers look at `error` first).
 * @typedef {{ error?: string, status: number, headers: import('node:http').IncomingHttpHeaders, body: string }} ProbeAnswer
 */

/**
 * @param {number} port
 * @param {string} path
 * @returns {Promise<ProbeAnswer>}
 */
function get(port, path) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: /** @type {number} */ (res.statusCode), headers: res.headers, body }));
      res.on('error', (e) => resolve(/** @type {ProbeAnswer} */ ({ error: e.message })));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(/** @type {ProbeAnswer} */ ({ error: e.message })));
    req.end();
  });
}

/**
 * Returns a list of problems (empty when the proxy behaves).
 * @param {number} port
 * @param {string} variant
 * @param {number[]} backendPorts
 * @returns {Promise<string[]>}
 */
export async function probe(port, variant, backendPorts) {
  /** @type {string[]} */
  const problems = [];
  const bodies = new Set();
  for (let i = 0; i < 4; i++) {
    const r = await get(port, '/');
    if (r.error) {
      problems.push(`request ${i + 1}: ${r.error}`);
      continue;
    }
    if (variant === 'redirect') {
      const loc = r.headers.location ?? '';
      if (r.status < 300 || r.status > 399) problems.push(`expected a 3xx redirect, got ${r.status}`);
      else if (!backendPorts.some((p) => loc.startsWith(`http://127.0.0.1:${p}/`)))
        problems.push(`redirect Location "${loc}" is not a backend`);
    } else {
      if (r.status !== 200) problems.push(`expected 200, got ${r.status}`);
      else if (r.body !== 'hello\n' && r.body !== 'hallo\n')
        problems.push(`unexpected body ${JSON.stringify(r.body.slice(0, 40))}`);
      bodies.add(r.body);
    }
  }
  if (variant !== 'redirect' && !problems.length && bodies.size < 2)
    problems.push('4 requests all went to the same backend (no round-robin)');
  if (variant !== 'redirect') {
    for (const [name, size] of BODY_FILES) {
      const r = await get(port, `/${name}`);
      if (r.error) problems.push(`/${name}: ${r.error}`);
      else if (r.status !== 200 || r.body.length !== size)
        problems.push(`/${name}: status ${r.status}, ${r.body.length} bytes (expected 200, ${size})`);
    }
  }
  return [...new Set(problems)];
}
