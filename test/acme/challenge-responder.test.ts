// The workers' HTTP-01 responder: with a challenge table the balancer answers
// /.well-known/acme-challenge/<token> itself (200 with the key authorization, 404 for a
// token it does not know) and never forwards that path; without one the path is
// proxied like any other. Raw bytes in and out, a scripted backend that records what
// reaches it.
import { afterEach, describe, expect, it } from 'vitest';

import { LbConfigError } from '../../src/errors.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { buildResponse, header, printable } from '../helpers/http-message.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';

afterEach(runCleanups);

const token = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const keyAuthorization = `${token}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;

async function setup(mode: 'http' | 'redirect' = 'http') {
  const backend = await ScriptedBackend.start((req) => ({
    bytes: buildResponse(200, `backend ${req.target}`, { reason: 'OK' }),
  }));
  const lb = await startBalancer({
    backends: [mode === 'redirect' ? { address: backend.address, publicUrl: 'http://web1.example' } : backend.address],
    mode,
  });
  return { backend, lb };
}

async function get(port: number, target: string, method = 'GET') {
  const client = await RawClient.connect(port);
  await client.write(`${method} ${target} HTTP/1.1\r\nHost: a.example\r\n\r\n`);
  const response = await client.readResponse({ method });
  return { client, response };
}

describe('HTTP-01 responder', () => {
  it('answers a known token with its key authorization as text/plain, without the backend', async () => {
    const { backend, lb } = await setup();
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    const { client, response } = await get(lb.port, `/.well-known/acme-challenge/${token}`);
    expect(response.status, printable(client.received())).toBe(200);
    expect(response.body.toString()).toBe(keyAuthorization);
    expect(header(response, 'content-type')).toBe('text/plain');
    expect(header(response, 'content-length')).toBe(String(keyAuthorization.length));
    // Keep-alive: the next request on the same connection goes to the backend as usual.
    await client.write('GET /after HTTP/1.1\r\nHost: a.example\r\n\r\n');
    const next = await client.readResponse();
    expect(next.body.toString()).toBe('backend /after');
    expect(backend.requests().map((r) => r.target)).toEqual(['/after']);
  });

  it('answers 404 for a token it does not know and forwards nothing', async () => {
    const { backend, lb } = await setup();
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    for (const target of ['/.well-known/acme-challenge/unknown-token', `/.well-known/acme-challenge/${token}x`]) {
      const { client, response } = await get(lb.port, target);
      expect(response.status, printable(client.received())).toBe(404);
    }
    // An empty table still owns the path: ACME is on, no order is under way.
    lb.setAcmeChallenges({});
    const { response } = await get(lb.port, `/.well-known/acme-challenge/${token}`);
    expect(response.status).toBe(404);
    expect(backend.requests()).toEqual([]);
  });

  it('answers HEAD with the head alone, and takes the absolute form and a query', async () => {
    const { backend, lb } = await setup();
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    const head = await get(lb.port, `/.well-known/acme-challenge/${token}`, 'HEAD');
    expect(head.response.status).toBe(200);
    expect(header(head.response, 'content-length')).toBe(String(keyAuthorization.length));
    expect(head.response.body.length).toBe(0);
    const absolute = await get(lb.port, `http://a.example/.well-known/acme-challenge/${token}?x=1`);
    expect(absolute.response.body.toString()).toBe(keyAuthorization);
    expect(backend.requests()).toEqual([]);
  });

  it('proxies the path when no table is set, and again after null', async () => {
    const { backend, lb } = await setup();
    const before = await get(lb.port, `/.well-known/acme-challenge/${token}`);
    expect(before.response.body.toString()).toBe(`backend /.well-known/acme-challenge/${token}`);
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    expect((await get(lb.port, `/.well-known/acme-challenge/${token}`)).response.body.toString()).toBe(keyAuthorization);
    lb.setAcmeChallenges(null);
    const after = await get(lb.port, `/.well-known/acme-challenge/${token}`);
    expect(after.response.body.toString()).toBe(`backend /.well-known/acme-challenge/${token}`);
    expect(backend.requests()).toHaveLength(2);
  });

  it('keeps the table across a reconfigure and across stop and start', async () => {
    const { lb, backend } = await setup();
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    const result = await lb.reconfigure({
      listen: `127.0.0.1:${lb.port}`,
      backends: [backend.address],
      workers: 2,
      timeouts: { connectMs: 3000 },
    });
    expect(result.settings).toContain('timeouts.connectMs');
    expect((await get(lb.port, `/.well-known/acme-challenge/${token}`)).response.body.toString()).toBe(keyAuthorization);
    await lb.stop();
    await lb.start();
    expect((await get(lb.port, `/.well-known/acme-challenge/${token}`)).response.body.toString()).toBe(keyAuthorization);
  });

  it('answers in redirect mode too, where other requests get the redirect', async () => {
    const { lb } = await setup('redirect');
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    expect((await get(lb.port, `/.well-known/acme-challenge/${token}`)).response.body.toString()).toBe(keyAuthorization);
    const other = await get(lb.port, '/page');
    expect(other.response.status).toBe(307);
  });

  it('closes after answering a challenge request that carries a body', async () => {
    const { lb } = await setup();
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    const client = await RawClient.connect(lb.port);
    await client.write(`POST /.well-known/acme-challenge/${token} HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}`);
    const response = await client.readResponse();
    expect(response.status).toBe(200);
    expect(header(response, 'connection')).toBe('close');
    expect(await client.waitForServerClose(2_000)).toBe(true);
  });

  it('refuses tokens and key authorizations that are not base64url, keeping the table it had', async () => {
    const { lb } = await setup();
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    expect(() => lb.setAcmeChallenges({ 'a/b': 'x' })).toThrow(LbConfigError);
    expect(() => lb.setAcmeChallenges({ tok: 'a\r\nSet-Cookie: x=1' })).toThrow(/base64url/);
    expect((await get(lb.port, `/.well-known/acme-challenge/${token}`)).response.body.toString()).toBe(keyAuthorization);
  });
});
