// A backend that answers an HTTP/2 stream with interim responses (103 Early Hints, 100
// Continue) without end had each one relayed to the client as its own HEADERS frame: the
// stream's output, queued in the HTTP/2 session, grew for as long as the backend kept
// sending. At most 8 are relayed now; a 9th is a bad response (502, or a reset once a
// final head went out), and the backend connection is not reused.
import http2 from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { createTlsFixtures, type TlsFixtures } from '../helpers/tls-fixtures.js';

let fixtures: TlsFixtures;

beforeAll(async () => {
  fixtures = await createTlsFixtures({ names: ['localhost'], ips: ['127.0.0.1'] });
}, 60_000);

afterAll(async () => {
  await fixtures.cleanup();
});

afterEach(runCleanups);

const EARLY_HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n';
const FINAL = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal';

interface Answer {
  status: number;
  interim: number[];
  body: string;
}

function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://localhost:${port}`, { ca: fixtures.ca.certPem, servername: 'localhost' });
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    const interim: number[] = [];
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on('headers', (h) => interim.push(Number(h[':status'])));
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      session.close();
      resolve({ status, interim, body: Buffer.concat(chunks).toString() });
    });
    stream.on('error', reject);
  });
}

async function startWithHints(hints: number) {
  const backend = await ScriptedBackend.start(() => ({ bytes: EARLY_HINTS.repeat(hints) + FINAL }));
  const lb = await startBalancer({
    backends: [backend.address],
    workers: 1,
    tls: { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] },
  });
  return { backend, lb };
}

describe('h2 unbounded interim responses', () => {
  it('8 interim responses are relayed, then the final response', async () => {
    const { lb } = await startWithHints(8);
    const answer = await get(lb.port, '/eight');
    expect(answer.interim).toEqual(Array(8).fill(103));
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('final');
  }, 20_000);

  it('a 9th interim response is a bad response: 502, after the 8 relayed', async () => {
    const { lb, backend } = await startWithHints(1000);
    const answer = await get(lb.port, '/flood');
    expect(answer.interim).toEqual(Array(8).fill(103));
    expect(answer.status).toBe(502);
    // The backend connection that misbehaved was closed, not pooled: the next request
    // opens another.
    const before = backend.connections.length;
    await get(lb.port, '/flood-again');
    expect(backend.connections.length).toBe(before + 1);
  }, 20_000);
});
