// Backends that misbehave: each fault hits one client, which must get the right status or a
// closed connection (never a short body presented as complete); well-behaved clients running
// at the same time against the same balancer (and the same misbehaving backend, which answers
// them correctly) must all get exactly their own responses; and the pool must recover: a
// following request to the same backend succeeds, and no connection that saw a fault carried
// another request.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { header, printable, type HttpMessage } from '../helpers/http-message.js';
import { startBalancer, type BalancerConfig } from '../helpers/balancer.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import {
  bodyPattern,
  describeBody,
  namedReply,
  type Reply,
  ScriptedBackend,
  type StreamedBody,
  streamReply,
} from '../helpers/scripted-backend.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { startLoad, type LoadResult } from './load.js';
import { startChildBackend } from './processes.js';

afterEach(runCleanups);

type Lb = Awaited<ReturnType<typeof startBalancer>>;

/** What F does with one request that gets a fault; every such reply marks its connection faulted. */
type Fault = (request: HttpMessage) => Reply;

/** F, the backend that misbehaves on request; until told otherwise it answers like test/helpers/http-backend.ts. */
function startF(port = 0): Promise<ScriptedBackend> {
  return ScriptedBackend.start((req) => namedReply('F', req), { name: 'F', port });
}

/** F answers everything correctly again. */
function answerAll(f: ScriptedBackend): void {
  f.setScript((req) => namedReply(f.name, req));
}

/** A streamed 200 that stops after `failAfter` body bytes, then closes or resets. */
function brokenStream(body: StreamedBody & { failAfter: number }, then: 'close' | 'reset'): Fault {
  return (req) => ({ ...streamReply('F', req, body), ...(then === 'close' ? { close: true } : { reset: true }), faulted: true });
}

interface Setup {
  f: ScriptedBackend;
  h: HttpBackend;
  lb: Lb;
  /** Paths that uri-hash to F (while F is up). */
  faultPaths: string[];
}

/**
 * F (misbehaving, answering well-behaved requests correctly) and H (node:http) behind one
 * balancer with uri-hash, so a fault path is known to reach F first. Outlier detection is
 * off: F stays in rotation, so the load keeps using its pooled connections.
 */
async function setup(extra: Partial<BalancerConfig> = {}, pathsWanted = 6): Promise<Setup> {
  const f = await startF();
  const h = await startHttpBackend('H');
  const lb = await startBalancer({
    backends: [f.address, h.address],
    strategy: 'uri-hash',
    workers: 2,
    outlierDetection: { consecutiveFailures: 0 },
    ...extra,
  });
  const faultPaths: string[] = [];
  const client = await RawClient.connect(lb.port);
  for (let k = 0; faultPaths.length < pathsWanted && k < 200; k++) {
    const path = `/fault/${k}`;
    await client.write(`GET ${path} HTTP/1.1\r\nHost: t\r\nX-Request-Id: probe${k}\r\n\r\n`);
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    if (header(res, 'x-backend') === 'F') faultPaths.push(path);
  }
  client.destroy();
  expect(faultPaths.length).toBe(pathsWanted);
  return { f, h, lb, faultPaths };
}

/** F applies `fault` to requests for /fault/..., and answers everything else correctly. */
function faultOnPaths(f: ScriptedBackend, fault: Fault): void {
  f.setScript((req) => (req.target.startsWith('/fault/') ? fault(req) : namedReply(f.name, req)));
}

interface FaultOutcome {
  res?: HttpMessage;
  /** Why no complete response was read. */
  error?: string;
  received: Buffer;
  serverClosed: boolean;
  ms: number;
}

let serial = 0;

/** One request on a fresh connection; reads one response (or notes the close). */
async function faultRequest(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = 10_000,
): Promise<FaultOutcome & { id: string }> {
  const id = `X${++serial}`;
  const client = await RawClient.connect(port);
  const started = Date.now();
  const head = `${method} ${path} HTTP/1.1\r\nHost: t\r\nX-Request-Id: ${id}\r\n`;
  await client.write(method === 'POST' ? `${head}Content-Length: 11\r\n\r\nhello world` : `${head}\r\n`);
  try {
    const res = await client.readResponse({ method, timeoutMs });
    if (res.status !== 200) await client.waitForServerClose(2_000);
    return { id, res, received: client.received(), serverClosed: client.serverClosed, ms: Date.now() - started };
  } catch (err) {
    return {
      id,
      error: (err as Error).message,
      received: client.received(),
      serverClosed: client.serverClosed,
      ms: Date.now() - started,
    };
  } finally {
    client.destroy();
  }
}

function show(o: FaultOutcome): string {
  return `${o.error ?? ''}\nreceived (${o.received.length} bytes):\n${printable(o.received, 600)}`;
}

/** The load ran clean: every request got its own 200, from both backends. */
function expectCleanLoad(result: LoadResult, backends = ['F', 'H']): void {
  const why = `${JSON.stringify(result.counts)}\n${result.samples.join('\n')}`;
  expect(result.counts, why).toEqual({ ok: result.total });
  expect(result.total, why).toBeGreaterThan(20);
  for (const name of backends)
    expect(result.byBackend[name] ?? 0, `${why}\n${JSON.stringify(result.byBackend)}`).toBeGreaterThan(0);
}

/** No backend connection that got a fault carried a request after it, and the proxy closed each. */
async function expectFaultedConnectionsRetired(f: ScriptedBackend): Promise<void> {
  const faulted = f.connections.filter((c) => c.faulted);
  expect(faulted.length, f.summary()).toBeGreaterThan(0);
  for (const c of faulted) {
    if (c.requests.length > 0) expect(c.requests.length, f.summary()).toBe((c.faultedAt ?? 0) + 1);
  }
  await waitUntil(`faulted connections closed\n${f.summary()}`, () => faulted.every((c) => c.closed), { timeoutMs: 5_000 });
}

/** After the fault: F answers again and a request to a fault path succeeds on F. */
async function expectRecovery(s: Setup): Promise<void> {
  answerAll(s.f);
  for (const path of s.faultPaths.slice(0, 3)) {
    const o = await faultRequest(s.lb.port, 'GET', path);
    expect(o.res?.status, show(o)).toBe(200);
    expect(o.res!.body.toString(), show(o)).toBe(describeBody('F', 'GET', path, o.id));
  }
  await waitUntil('no client connection left at the balancer', () => s.lb.stats().activeClientConnections === 0);
  await waitUntil('no backend connection busy', () => s.lb.stats().backends.every((b) => b.activeConnections === 0));
}

/**
 * Runs well-behaved load, applies `fault` to fault-path requests (GET and POST, several at
 * once), hands the outcomes to `check`, then checks the load, the faulted connections and
 * recovery.
 */
async function underLoad(
  s: Setup,
  fault: Fault,
  check: (o: FaultOutcome & { id: string; method: 'GET' | 'POST'; path: string }) => void,
  { methods = ['GET', 'POST'] as Array<'GET' | 'POST'>, rounds = 2 } = {},
): Promise<void> {
  const load = startLoad(s.lb.port, { backends: ['F', 'H'] });
  await waitUntil('load running', () => load.result.total >= 30);
  faultOnPaths(s.f, fault);
  for (let round = 0; round < rounds; round++) {
    const jobs = methods.flatMap((method) =>
      s.faultPaths.slice(0, 3).map(async (path) => ({ method, path, ...(await faultRequest(s.lb.port, method, path)) })),
    );
    for (const o of await Promise.all(jobs)) check(o);
  }
  const before = load.result.total;
  await waitUntil('load continues after the faults', () => load.result.total >= before + 30);
  answerAll(s.f);
  expectCleanLoad(await load.stop());
  await expectFaultedConnectionsRetired(s.f);
  await expectRecovery(s);
}

/** A 502 from the balancer itself, and the connection closed after it. */
function expect502(o: FaultOutcome): void {
  expect(o.res?.status, show(o)).toBe(502);
  expect(o.serverClosed, show(o)).toBe(true);
}

describe('backend fails before any response byte', () => {
  for (const kind of ['close', 'reset'] as const) {
    it(`${kind === 'close' ? 'closes (FIN)' : 'resets (RST)'} without answering: POST gets 502, GET is retried on H; others unaffected`, async () => {
      const s = await setup();
      await underLoad(
        s,
        () => ({ ...(kind === 'close' ? { close: true } : { reset: true }), faulted: true }),
        (o) => {
          if (o.method === 'POST') {
            expect502(o);
          } else {
            // Idempotent and bodiless: retried on the other backend, which answers it.
            expect(o.res?.status, show(o)).toBe(200);
            expect(header(o.res!, 'x-backend'), show(o)).toBe('H');
            expect(o.res!.body.toString(), show(o)).toBe(describeBody('H', 'GET', o.path, o.id));
          }
          // F saw every one of these requests first.
          expect(s.f.ids(), s.f.summary()).toContain(o.id);
        },
      );
      const stats = s.lb.stats().backends[0]!;
      expect(stats.backendErrors, JSON.stringify(stats)).toBeGreaterThanOrEqual(12);
      expect(stats.retries, JSON.stringify(stats)).toBeGreaterThanOrEqual(6);
    });
  }

  it('closes each new connection at accept: 502 with F alone, then F serves again', async () => {
    const f = await startF();
    const lb = await startBalancer({ backends: [f.address], workers: 1, outlierDetection: { consecutiveFailures: 0 } });
    for (const method of ['POST', 'GET'] as const) {
      f.closeOnAccept = 10;
      const o = await faultRequest(lb.port, method, '/x');
      expect502(o);
      f.closeOnAccept = 0;
    }
    const o = await faultRequest(lb.port, 'GET', '/after');
    expect(o.res?.status, show(o)).toBe(200);
    expect(o.res!.body.toString()).toBe(describeBody('F', 'GET', '/after', o.id));
    await waitUntil('client connections gone', () => lb.stats().activeClientConnections === 0);
  });
});

describe('backend fails inside the response head', () => {
  it('half a head, then FIN: 502 (GET too: response bytes were seen, so no replay); others unaffected', async () => {
    const s = await setup();
    await underLoad(s, () => ({ bytes: 'HTTP/1.1 200 OK\r\nContent-Le', close: true, faulted: true }), expect502);
  });

  it('half a head, then RST: 502; others unaffected', async () => {
    const s = await setup();
    await underLoad(s, () => ({ bytes: 'HTTP/1.1 200 OK\r\nX-Partial: yes\r\n', reset: true, faulted: true }), expect502);
  });

  const garbage: Array<[string, Fault]> = [
    [
      'text that is not HTTP, connection kept open',
      () => ({ bytes: 'SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n', faulted: true }),
    ],
    [
      'binary junk, connection kept open',
      () => ({ bytes: Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]), Buffer.from('\r\n\r\n')]), faulted: true }),
    ],
    ['a bad status line, connection kept open', () => ({ bytes: 'HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n', faulted: true })],
    ['junk with no head end, then FIN', () => ({ bytes: 'garbage garbage garbage', close: true, faulted: true })],
  ];
  for (const [what, fault] of garbage) {
    it(`garbage (${what}): 502 and the backend connection closed; others unaffected`, async () => {
      const s = await setup();
      await underLoad(s, fault, expect502);
      expect(s.lb.stats().backends[0]!.backendErrors).toBeGreaterThanOrEqual(12);
    });
  }
});

describe('backend fails mid-body', () => {
  const cases: Array<[string, StreamedBody & { failAfter: number }, 'close' | 'reset']> = [
    ['Content-Length, RST after 256 KiB of 1 MiB', { framing: 'content-length', total: 1 << 20, failAfter: 256 << 10 }, 'reset'],
    [
      'Content-Length, FIN after 300 of 1000 bytes (smaller than announced)',
      { framing: 'content-length', total: 1000, failAfter: 300 },
      'close',
    ],
    ['chunked, RST after 256 KiB', { framing: 'chunked', total: 1 << 20, failAfter: 256 << 10 }, 'reset'],
    ['chunked, FIN after 300 bytes', { framing: 'chunked', total: 1000, failAfter: 300 }, 'close'],
  ];
  for (const [what, body, then] of cases) {
    const { total } = body;
    const fault = brokenStream(body, then);
    it(`${what}: the client sees a close before the end, never a complete response; others unaffected`, async () => {
      const s = await setup();
      await underLoad(s, fault, (o) => {
        // No complete response: the reader reports the close inside the body.
        expect(o.res, show(o)).toBeUndefined();
        expect(o.serverClosed, show(o)).toBe(true);
        expect(o.error, show(o)).toMatch(
          body.framing === 'chunked'
            ? /connection closed inside a chunked body/
            : new RegExp(`connection closed after \\d+ of ${total} body bytes`),
        );
        const headEnd = o.received.indexOf('\r\n\r\n');
        expect(o.received.subarray(0, headEnd).toString(), show(o)).toMatch(/^HTTP\/1\.1 200 /);
        const arrived = o.received.subarray(headEnd + 4);
        if (body.framing === 'content-length') {
          // What did arrive is exactly a prefix of the backend's body.
          expect(arrived.length, show(o)).toBeLessThan(total);
          expect(
            arrived.equals(Buffer.concat([bodyPattern, bodyPattern, bodyPattern, bodyPattern]).subarray(0, arrived.length)),
            'body is a prefix',
          ).toBe(true);
        } else {
          expect(arrived.includes('\r\n0\r\n\r\n'), show(o)).toBe(false);
        }
      });
      expect(s.lb.stats().backends[0]!.backendErrors).toBeGreaterThanOrEqual(12);
    });
  }
});

describe('backend writes more than it was asked for', () => {
  const smuggled = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Backend: F\r\nX-Request-Id: SMUGGLED\r\n\r\nSMUGGLED';

  it('a response longer than its Content-Length: the client gets exactly the announced bytes; the rest reaches no one', async () => {
    const s = await setup();
    // Each fault request gets "hello" (CL 5) followed, in the same write, by a whole second response.
    faultOnPaths(s.f, (req) => ({
      bytes: `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Backend: F\r\nX-Request-Id: ${header(req, 'x-request-id')}\r\n\r\nhello${smuggled}`,
      faulted: true,
    }));
    const load = startLoad(s.lb.port, { backends: ['F', 'H'] });
    await waitUntil('load running', () => load.result.total >= 30);
    // One keep-alive client: fault request, then an ordinary request on the same connection.
    const client = await RawClient.connect(s.lb.port);
    for (let i = 0; i < 12; i++) {
      const path = s.faultPaths[i % s.faultPaths.length]!;
      await client.write(`GET ${path} HTTP/1.1\r\nHost: t\r\nX-Request-Id: big${i}\r\n\r\n`);
      const res = await client.readResponse();
      expect(res.status, printable(client.received())).toBe(200);
      expect(header(res, 'x-request-id')).toBe(`big${i}`);
      expect(res.body.toString()).toBe('hello');
      await client.write(`GET /next/${i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: next${i}\r\n\r\n`);
      const next = await client.readResponse();
      expect(header(next, 'x-request-id'), printable(client.received())).toBe(`next${i}`);
      expect(next.body.toString()).toBe(describeBody(header(next, 'x-backend')!, 'GET', `/next/${i}`, `next${i}`));
    }
    expect(client.unread().length, printable(client.unread())).toBe(0);
    expect(client.received().includes('SMUGGLED')).toBe(false);
    client.destroy();
    answerAll(s.f);
    expectCleanLoad(await load.stop());
    await expectFaultedConnectionsRetired(s.f);
    await expectRecovery(s);
  });

  /** A correct answer, then 30 ms later (pooled by then) a whole unsolicited response. */
  const unsolicited = (f: ScriptedBackend): void => {
    faultOnPaths(f, (req) => ({
      bytes: `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Backend: F\r\nX-Request-Id: ${header(req, 'x-request-id')}\r\n\r\nok`,
      extra: smuggled,
      extraDelayMs: 30,
      faulted: true,
    }));
  };

  /** Paths for the load that uri-hash to F and to H. */
  async function loadPaths(port: number): Promise<{ toF: string[]; toH: string[] }> {
    const toF: string[] = [];
    const toH: string[] = [];
    const client = await RawClient.connect(port);
    for (let k = 0; k < 60; k++) {
      await client.write(`GET /l/${k} HTTP/1.1\r\nHost: t\r\nX-Request-Id: lp${k}\r\n\r\n`);
      const res = await client.readResponse();
      (header(res, 'x-backend') === 'F' ? toF : toH).push(`/l/${k}`);
    }
    client.destroy();
    expect(toF.length).toBeGreaterThan(5);
    expect(toH.length).toBeGreaterThan(5);
    return { toF, toH };
  }

  it('unsolicited bytes on an idle pooled connection (others hold off F meanwhile): closed, never reused, others unaffected', async () => {
    const s = await setup();
    const paths = await loadPaths(s.lb.port);
    unsolicited(s.f);
    // The load uses F and H, but holds off F while a connection to F is known to be idle
    // in the pool with unsolicited bytes on their way: then "idle" is certain.
    let hold = false;
    const fSet = new Set(paths.toF);
    const load = startLoad(s.lb.port, {
      backends: ['F', 'H'],
      clients: 8,
      pathFor: (c, i) => (hold || i % 2 === 0 ? paths.toH[(c + i) % paths.toH.length]! : paths.toF[(c + i) % paths.toF.length]!),
    });
    await waitUntil('load running', () => (load.result.byBackend.F ?? 0) >= 20);
    const client = await RawClient.connect(s.lb.port);
    for (let i = 0; i < 10; i++) {
      hold = true;
      await waitUntil('no load request in flight to F', () => [...load.inFlight.values()].every((p) => !fSet.has(p)));
      const path = s.faultPaths[i % s.faultPaths.length]!;
      await client.write(`GET ${path} HTTP/1.1\r\nHost: t\r\nX-Request-Id: u${i}\r\n\r\n`);
      const res = await client.readResponse();
      expect(header(res, 'x-request-id'), printable(client.received())).toBe(`u${i}`);
      expect(res.body.toString()).toBe('ok');
      const carrier = s.f.connections.find((c) => c.requests.some((r) => header(r, 'x-request-id') === `u${i}`))!;
      await waitUntil('the unsolicited bytes were written', () => carrier.extraState === 'delivered');
      await delay(50); // the balancer has long seen them by now
      hold = false;
      const mark = load.result.byBackend.F ?? 0;
      await waitUntil('load back on F', () => (load.result.byBackend.F ?? 0) >= mark + 20);
    }
    client.destroy();
    answerAll(s.f);
    expectCleanLoad(await load.stop(), ['F', 'H']);
    const tainted = s.f.connections.filter((c) => c.faulted);
    expect(tainted.length).toBe(10);
    for (const c of tainted) expect(c.requests.length, s.f.summary()).toBe((c.faultedAt ?? 0) + 1);
    await waitUntil(`tainted connections closed\n${s.f.summary()}`, () => tainted.every((c) => c.closed));
    await expectRecovery(s);
  });

  it('unsolicited bytes that reach an idle pooled connection just before the next request: that connection is not used for it', async () => {
    // One worker, one backend, one client: the pooled connection is the one the next request
    // would take. The unsolicited response is written to it, and then (same JS turn, a few
    // microseconds later) the client writes its next request. On loopback a write() puts the
    // bytes in the peer's receive queue before it returns, so the unsolicited bytes are
    // waiting on the idle connection before the request even exists: it must not carry it.
    const f = await startF();
    const lb = await startBalancer({ backends: [f.address], workers: 1, outlierDetection: { consecutiveFailures: 0 } });
    const client = await RawClient.connect(lb.port);
    const bad: string[] = [];
    for (let i = 0; i < 40; i++) {
      await client.write(`GET /a/${i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: a${i}\r\n\r\n`);
      const first = await client.readResponse();
      expect(header(first, 'x-request-id'), printable(client.received())).toBe(`a${i}`);
      const carrier = f.connections.find((c) => c.requests.some((r) => header(r, 'x-request-id') === `a${i}`))!;
      await waitUntil('the connection parked in the pool', () => lb.stats().backends[0]!.idleConnections === 1);
      const before = carrier.requests.length;
      carrier.socket.write(smuggled);
      client.socket.write(`GET /b/${i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: b${i}\r\n\r\n`);
      const res = await client.readResponse();
      if (header(res, 'x-request-id') !== `b${i}`) bad.push(`round ${i}: the response to b${i} was ${printable(res.raw, 200)}`);
      await waitUntil('carrier closed or reused', () => carrier.closed || carrier.requests.length > before);
      if (carrier.requests.length > before) {
        bad.push(
          `round ${i}: connection ${carrier.id} (unsolicited bytes pending) carried ${header(carrier.requests.at(-1)!, 'x-request-id')}`,
        );
      }
      if (header(res, 'x-request-id') !== `b${i}`) {
        // The connection is desynchronised now; start over on a fresh client.
        break;
      }
    }
    expect(bad, `${bad.length} failures\n${f.summary()}`).toEqual([]);
  });

  it("unsolicited bytes racing busy load: a misled request only ever gets its own connection's bytes, and that connection is closed", async () => {
    // Here the load keeps using F at full speed, so some unsolicited responses are written
    // while a request is already on its way on that connection, or land after the
    // balancer's last look at it and before it writes the next request. No HTTP/1.1 proxy
    // can tell those bytes from the real answer (HAProxy and nginx do not look before a
    // reuse either; looking costs a syscall per request). The misled request's own answer
    // then arrives as the next answer on that connection, and if the backend answers more
    // slowly than the balancer turns a connection around, the shift can carry on for a few
    // requests: until bytes land while the connection is idle in the pool or left over
    // after a response, where the balancer sees them and closes it. What must hold: a
    // misled request gets the stray response or an earlier answer from its own tainted
    // connection, never another connection's, and every tainted connection ends closed.
    const s = await setup();
    unsolicited(s.f);
    const load = startLoad(s.lb.port, { backends: ['F', 'H'], clients: 8 });
    await waitUntil('load running', () => load.result.total >= 30);
    let client = await RawClient.connect(s.lb.port);
    const faultMixups: Array<{ sent: string; got: string }> = [];
    for (let i = 0; i < 40; i++) {
      const path = s.faultPaths[i % s.faultPaths.length]!;
      await client.write(`GET ${path} HTTP/1.1\r\nHost: t\r\nX-Request-Id: u${i}\r\n\r\n`);
      const res = await client.readResponse();
      if (header(res, 'x-request-id') !== `u${i}`) {
        // This client took a shifted connection too; checked with the load's.
        faultMixups.push({ sent: `u${i}`, got: header(res, 'x-request-id') ?? '' });
        client.destroy();
        client = await RawClient.connect(s.lb.port);
      }
      await delay(50);
    }
    client.destroy();
    answerAll(s.f);
    const result = await load.stop();
    const tainted = s.f.connections.filter((c) => c.extraState !== 'none');
    // Which F connection carried each request id, and at which position.
    const carriedBy = new Map<string, { conn: (typeof tainted)[number]; at: number }>();
    for (const conn of s.f.connections)
      conn.requests.forEach((r, at) => carriedBy.set(header(r, 'x-request-id') ?? '', { conn, at }));
    const mixups = [...result.mixups, ...faultMixups];
    const crossed = mixups.filter(({ sent, got }) => {
      const request = carriedBy.get(sent);
      if (!request || request.conn.extraState === 'none') return true; // misled on a clean connection
      if (got === 'SMUGGLED') return false;
      const answer = carriedBy.get(got);
      return !(answer && answer.conn === request.conn && answer.at < request.at);
    });
    const why =
      `load ${JSON.stringify(result.counts)}, fault client mix-ups ${faultMixups.length}; tainted connections ${tainted.length}\n` +
      `${crossed
        .slice(0, 10)
        .map((m) => `request ${m.sent} got the answer of ${m.got}`)
        .join('\n')}\n${result.samples.slice(0, 5).join('\n')}`;
    expect(tainted.length, why).toBeGreaterThan(0);
    expect(crossed, why).toEqual([]);
    await waitUntil(`tainted connections closed\n${s.f.summary()}`, () => tainted.every((c) => c.closed));
    await expectRecovery(s);
  });
});

describe('backend stalls', () => {
  it('never answers: 504 after responseMs, the stalled connection is closed; others unaffected', async () => {
    const s = await setup({ timeouts: { responseMs: 1_000 } });
    await underLoad(
      s,
      () => ({ faulted: true }),
      (o) => {
        expect(o.res?.status, show(o)).toBe(504);
        expect(o.serverClosed, show(o)).toBe(true);
        expect(o.ms, show(o)).toBeGreaterThanOrEqual(950);
        expect(o.ms, show(o)).toBeLessThan(5_000);
      },
      { rounds: 1 },
    );
  });
});

describe('backend refuses connections', () => {
  async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  it('alone: 502 for GET and POST; a backend that starts listening on the port is then used', async () => {
    const port = await closedPort();
    const lb = await startBalancer({ backends: [`127.0.0.1:${port}`], workers: 1, outlierDetection: { consecutiveFailures: 0 } });
    for (const method of ['GET', 'POST'] as const) expect502(await faultRequest(lb.port, method, '/x'));
    expect(lb.stats().backends[0]!.connectErrors).toBeGreaterThanOrEqual(2);
    const f = await startF(port);
    const o = await faultRequest(lb.port, 'GET', '/later');
    expect(o.res?.status, show(o)).toBe(200);
    expect(o.res!.body.toString()).toBe(describeBody('F', 'GET', '/later', o.id));
    expect(f.requests().length).toBe(1);
  });

  it('next to a healthy backend: every GET and POST is served (connect errors retried), then the backend comes back', async () => {
    const port = await closedPort();
    const h = await startHttpBackend('H');
    const lb = await startBalancer({
      backends: [`127.0.0.1:${port}`, h.address],
      workers: 2,
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 1_000 },
    });
    const load = startLoad(lb.port, { backends: ['F', 'H'] });
    await waitUntil('load running', () => load.result.total >= 300, { timeoutMs: 10_000 });
    const refused = lb.stats().backends[0]!;
    expect(refused.connectErrors, JSON.stringify(refused)).toBeGreaterThan(0);
    const f = await startF(port);
    await waitUntil('the restarted backend serves again', () => (load.result.byBackend.F ?? 0) >= 20, { timeoutMs: 15_000 });
    const result = await load.stop();
    expectCleanLoad(result, ['F', 'H']);
    expect(f.requests().length).toBeGreaterThanOrEqual(20);
  });
});

describe('backend killed and restarted under load', () => {
  it('a backend process killed by PID mid-load and restarted on the same port: no mix-up, bounded failures, the pool recovers', async () => {
    const c1 = await startChildBackend(0, 'C1', 40_000);
    const h = await startHttpBackend('H');
    const lb = await startBalancer({
      backends: [`127.0.0.1:${c1.port}`, h.address],
      workers: 2,
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 500 },
    });
    const clients = 8;
    const load = startLoad(lb.port, { backends: ['C1', 'C2', 'H'], clients });
    await waitUntil('load reaches C1', () => (load.result.byBackend.C1 ?? 0) >= 100, { timeoutMs: 10_000 });
    await c1.kill();
    const atKill = load.result.total;
    await waitUntil('load continues without C1', () => load.result.total >= atKill + 200, { timeoutMs: 10_000 });
    const c2 = await startChildBackend(c1.port, 'C2', 40_000);
    await waitUntil('the restarted backend serves', () => (load.result.byBackend.C2 ?? 0) >= 100, { timeoutMs: 15_000 });
    // After recovery: a stretch with no failure at all.
    const failuresBefore = load.result.total - (load.result.counts.ok ?? 0);
    const mark = load.result.total;
    await waitUntil('a clean stretch after recovery', () => load.result.total >= mark + 300, { timeoutMs: 10_000 });
    const result = await load.stop();
    const why = `${JSON.stringify(result.counts)} ${JSON.stringify(result.byBackend)}\n${result.samples.join('\n')}`;
    // Never someone else's response, never a broken one.
    expect(result.counts.mixup ?? 0, why).toBe(0);
    expect(result.counts['bad-response'] ?? 0, why).toBe(0);
    // Only the requests on C1 at the moment it died may fail (a 502 or a closed connection),
    // at most one per client for the in-flight one plus one per client for a pooled
    // connection it had not yet noticed was dead.
    const failed = result.total - (result.counts.ok ?? 0);
    const unexpectedKinds = Object.keys(result.counts).filter((k) => k !== 'ok' && k !== 'status-502' && k !== 'closed');
    expect(unexpectedKinds, why).toEqual([]);
    expect(failed, why).toBeLessThanOrEqual(2 * clients);
    expect(failed, why).toBe(failuresBefore);
    await c2.kill();
  });
});
