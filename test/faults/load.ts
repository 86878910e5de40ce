// Well-behaved clients that run next to a fault: keep-alive GETs, POSTs with bodies and
// Connection: close requests, each with its own X-Request-Id, each response checked to be
// exactly this client's own. Every outcome is classified so a test can say which ones it
// tolerates (a killed backend legitimately fails in-flight requests) and which never
// (a response carrying someone else's id or body).
import { randomBytes } from 'node:crypto';
import { RawClient } from '../helpers/raw-client.js';
import { header, printable, type HttpMessage } from '../helpers/http-message.js';
import { describeBody } from '../helpers/scripted-backend.js';
import { onCleanup } from '../helpers/cleanup.js';
import { delay } from '../helpers/wait.js';

export type Outcome =
  /** 200 with this request's own id and body. */
  | 'ok'
  /** A complete response from the balancer with a status other than 200 (e.g. 502). */
  | `status-${number}`
  /** The connection closed (or reset) before a complete response. */
  | 'closed'
  /** A complete 200 that is not this request's: wrong id, wrong body, unknown backend. */
  | 'mixup'
  /** Bytes that are not a valid response, or a 200 whose end is only the close. */
  | 'bad-response';

export interface LoadResult {
  counts: Record<string, number>;
  /** Requests answered 200 per backend name. */
  byBackend: Record<string, number>;
  /** Up to 20 descriptions of outcomes other than 'ok'. */
  samples: string[];
  /** Every mix-up: the X-Request-Id sent, and the X-Request-Id and X-Backend of the answer. */
  mixups: Array<{ sent: string; got: string; backend: string }>;
  total: number;
}

export interface LoadOptions {
  clients?: number;
  /** Backend names a 200 may come from. */
  backends: string[];
  /** Path prefix; must route like any other path (never the fault path). */
  prefix?: string;
  /** Per-request read timeout. */
  timeoutMs?: number;
  /** Picks the path of request `i` of client `c` (default `${prefix}/c/i`). */
  pathFor?: (c: number, i: number) => string;
}

export interface Load {
  /** Stops after the requests in flight and returns the tally. */
  stop(): Promise<LoadResult>;
  /** The tally so far. */
  result: LoadResult;
  /** The path each client has a request in flight for, if any. */
  inFlight: Map<number, string>;
}

let loadSerial = 0;

export function startLoad(port: number, options: LoadOptions): Load {
  const { clients = 6, backends, prefix = '/ok', timeoutMs = 8_000 } = options;
  const pathFor = options.pathFor ?? ((c: number, i: number) => `${prefix}/${c}/${i}`);
  const inFlight = new Map<number, string>();
  const serial = ++loadSerial;
  const result: LoadResult = { counts: {}, byBackend: {}, samples: [], mixups: [], total: 0 };
  let stopping = false;
  const note = (outcome: Outcome, detail: string): void => {
    result.counts[outcome] = (result.counts[outcome] ?? 0) + 1;
    result.total++;
    if (outcome !== 'ok' && result.samples.length < 20) result.samples.push(`${outcome}: ${detail}`);
  };

  const runClient = async (c: number): Promise<void> => {
    let client: RawClient | undefined;
    for (let i = 0; !stopping; i++) {
      try {
        client ??= await RawClient.connect(port);
      } catch (err) {
        note('closed', `connect failed: ${(err as Error).message}`);
        await delay(10);
        continue;
      }
      const id = `L${serial}-${c}-${i}`;
      const path = pathFor(c, i);
      inFlight.set(c, path);
      const kind = i % 5;
      const close = kind === 4;
      let request: Buffer;
      let expectedBody: Buffer | undefined;
      let method = 'GET';
      if (kind === 1 || kind === 3) {
        method = 'POST';
        expectedBody = Buffer.concat([Buffer.from(`${id}:`), randomBytes(kind === 1 ? 200 : 20_000)]);
        request = Buffer.concat([
          Buffer.from(
            `POST ${path} HTTP/1.1\r\nHost: load.test\r\nX-Request-Id: ${id}\r\nContent-Length: ${expectedBody.length}\r\n\r\n`,
          ),
          expectedBody,
        ]);
      } else {
        request = Buffer.from(
          `GET ${path} HTTP/1.1\r\nHost: load.test\r\nX-Request-Id: ${id}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`,
        );
      }
      let res: HttpMessage;
      try {
        await client.write(request);
        res = await client.readResponse({ method, timeoutMs });
      } catch (err) {
        inFlight.delete(c);
        const message = (err as Error).message;
        const outcome: Outcome = client.serverClosed && /closed|no complete response/.test(message) ? 'closed' : 'bad-response';
        note(outcome, `${method} ${path} id=${id}: ${message.slice(0, 600)}`);
        client.destroy();
        client = undefined;
        continue;
      }
      inFlight.delete(c);
      const context = (): string => `${method} ${path} id=${id}: ${printable(res.raw, 400)}`;
      if (res.status !== 200) {
        note(`status-${res.status}`, context());
      } else {
        const name = header(res, 'x-backend') ?? '';
        const want = expectedBody ?? Buffer.from(describeBody(name, method, path, id));
        if (header(res, 'x-request-id') !== id || !backends.includes(name) || !res.body.equals(want)) {
          note('mixup', context());
          result.mixups.push({ sent: id, got: header(res, 'x-request-id') ?? '', backend: name });
        } else if (res.framing !== 'content-length') {
          note('bad-response', `200 framed by ${res.framing}: ${context()}`);
        } else {
          note('ok', '');
          result.byBackend[name] = (result.byBackend[name] ?? 0) + 1;
        }
      }
      if (close || res.status !== 200) {
        // Connection: close asked for, or an error response (which ends the connection).
        await client.waitForServerClose(2_000);
        client.destroy();
        client = undefined;
      }
    }
    client?.destroy();
  };

  const running = Promise.all(Array.from({ length: clients }, (_, c) => runClient(c)));
  // A test that fails half-way still stops its load (before the balancer is stopped).
  onCleanup(async () => {
    stopping = true;
    await running;
  });
  return {
    result,
    inFlight,
    async stop() {
      stopping = true;
      await running;
      return result;
    },
  };
}
