// Issue 14 C: `X_Forwarded_For: 6.6.6.6` from a client was forwarded unchanged, ahead of
// our own X-Forwarded-For; CGI/WSGI stacks and many frameworks read both as
// HTTP_X_FORWARDED_FOR, so the application saw the forged address first. `X-Real-IP` from
// a client passed too.
//
// Now, as nginx does by default (`underscores_in_headers off`), client header names with
// an underscore are dropped (`headers.underscores: 'drop'`); 'keep' forwards them, and
// 'reject' answers 400. Whatever that setting, a name that reads as an identity header
// once '_' is taken for '-' (any case) is always dropped, and X-Real-IP is stripped
// unless `forwarded.trustIncoming`.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { expectBackendSawOnlySentinel, expectErrorThenClose, headerLines } from '../edge/support.js';
import { parseArgs } from '../../src/cli/args.js';
import { validateOptions } from '../../src/config/schema.js';
import { LbConfigError } from '../../src/errors.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach } from '../helpers/cli.js';

afterEach(runCleanups);

type Underscores = 'drop' | 'keep' | 'reject';
interface Options {
  underscores?: Underscores;
  forwarded?: { mode: 'x-forwarded' | 'forwarded' | 'none'; trustIncoming: boolean };
}

/** Look-alikes of the identity headers the balancer writes or strips. */
const LOOK_ALIKES =
  'X_Forwarded_For: 6.6.6.6\r\n' +
  'x_forwarded_for: 6.6.6.7\r\n' +
  'X-Forwarded_For: 6.6.6.8\r\n' +
  'X_FORWARDED-PROTO: https\r\n' +
  'X_Forwarded_Host: evil.example\r\n' +
  'X_Forwarded_Port: 443\r\n' +
  'X_Real_IP: 6.6.6.9\r\n';

async function setup(options: Options = {}) {
  const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) }));
  const config: Record<string, unknown> = { backends: [backend.address], workers: 1 };
  if (options.underscores) config.headers = { underscores: options.underscores };
  if (options.forwarded) config.forwarded = options.forwarded;
  const lb = await startBalancer(config as Parameters<typeof startBalancer>[0]);
  return { backend, lb };
}

/** Sends one GET with `headers` through a balancer with `options`; the header lines the backend got. */
async function forwardedHeaders(headers: string, options: Options = {}): Promise<string[]> {
  const { backend, lb } = await setup(options);
  const client = await RawClient.connect(lb.port);
  await client.write(`GET / HTTP/1.1\r\nHost: h\r\n${headers}\r\n`);
  const res = await client.readResponse();
  expect(res.status, printable(client.received())).toBe(200);
  await backend.waitForRequests(1);
  return headerLines(backend.received(0));
}

describe("headers.underscores: 'drop' (the default)", () => {
  it('drops every identity look-alike: the backend sees only the X-Forwarded-* the balancer wrote', async () => {
    const lines = await forwardedHeaders(LOOK_ALIKES);
    expect(lines.filter((l) => /forwarded|real/i.test(l)).sort(), lines.join('\n')).toEqual(
      ['X-Forwarded-For: 127.0.0.1', 'X-Forwarded-Host: h', 'X-Forwarded-Proto: http'].sort(),
    );
  });

  it('drops any other header name with an underscore, and keeps the dashed ones', async () => {
    const lines = await forwardedHeaders('My_Header: a\r\nMy-Header: b\r\n_lead: c\r\ntrail_: d\r\nX-Ok: e\r\n');
    expect(
      lines.filter((l) => !/^(host|x-forwarded-)/i.test(l)),
      lines.join('\n'),
    ).toEqual(['My-Header: b', 'X-Ok: e']);
  });

  it('strips a client X-Real-IP (it is not trusted)', async () => {
    const lines = await forwardedHeaders('X-Real-IP: 6.6.6.6\r\nx-real-ip: 6.6.6.7\r\n');
    expect(
      lines.filter((l) => /real/i.test(l)),
      lines.join('\n'),
    ).toEqual([]);
  });

  it('drops underscore names in forwarded mode too, where only Forwarded is written', async () => {
    const lines = await forwardedHeaders(`${LOOK_ALIKES}X-Real-IP: 6.6.6.6\r\n`, {
      forwarded: { mode: 'forwarded', trustIncoming: false },
    });
    expect(
      lines.filter((l) => /forwarded|real/i.test(l)),
      lines.join('\n'),
    ).toEqual(['Forwarded: for=127.0.0.1;host="h";proto=http']);
  });
});

describe("headers.underscores: 'keep'", () => {
  it('forwards header names with underscores, but never an identity look-alike', async () => {
    const lines = await forwardedHeaders(`${LOOK_ALIKES}My_Header: a\r\nX-Real-IP: 6.6.6.6\r\n`, { underscores: 'keep' });
    expect(lines.filter((l) => !/^host:/i.test(l)).sort(), lines.join('\n')).toEqual(
      ['My_Header: a', 'X-Forwarded-For: 127.0.0.1', 'X-Forwarded-Host: h', 'X-Forwarded-Proto: http'].sort(),
    );
  });

  it('with trustIncoming: keeps the client X-Real-IP and X-Forwarded-For, still drops the look-alikes', async () => {
    const lines = await forwardedHeaders(`X-Forwarded-For: 10.0.0.1\r\nX-Real-IP: 10.0.0.1\r\n${LOOK_ALIKES}`, {
      underscores: 'keep',
      forwarded: { mode: 'x-forwarded', trustIncoming: true },
    });
    expect(lines.filter((l) => /forwarded-for|real/i.test(l)).sort(), lines.join('\n')).toEqual(
      ['X-Forwarded-For: 10.0.0.1, 127.0.0.1', 'X-Real-IP: 10.0.0.1'].sort(),
    );
  });

  it("with forwarded mode 'none' the client's identity headers pass untouched, as documented", async () => {
    const lines = await forwardedHeaders('X_Forwarded_For: 6.6.6.6\r\nX-Real-IP: 6.6.6.7\r\n', {
      underscores: 'keep',
      forwarded: { mode: 'none', trustIncoming: false },
    });
    expect(
      lines.filter((l) => !/^host:/i.test(l)),
      lines.join('\n'),
    ).toEqual(['X_Forwarded_For: 6.6.6.6', 'X-Real-IP: 6.6.6.7']);
  });
});

describe("headers.underscores: 'reject'", () => {
  it('answers 400 and closes for a header name with an underscore; nothing reaches the backend', async () => {
    const { backend, lb } = await setup({ underscores: 'reject' });
    const client = await RawClient.connect(lb.port);
    await client.write('GET / HTTP/1.1\r\nHost: h\r\nMy_Header: a\r\n\r\n');
    await expectErrorThenClose(client, 400);
    await expectBackendSawOnlySentinel(lb.port, backend);
  });

  it('answers 400 for an identity look-alike as well', async () => {
    const { backend, lb } = await setup({ underscores: 'reject' });
    const client = await RawClient.connect(lb.port);
    await client.write('GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n');
    await expectErrorThenClose(client, 400);
    await expectBackendSawOnlySentinel(lb.port, backend);
  });
});

describe('the option', () => {
  it("defaults to 'drop' and accepts drop, keep and reject", () => {
    const base = { backends: ['127.0.0.1:9001'] };
    expect(validateOptions(base).headers).toEqual({ underscores: 'drop' });
    for (const underscores of ['drop', 'keep', 'reject'] as const) {
      expect(validateOptions({ ...base, headers: { underscores } }).headers).toEqual({ underscores });
    }
  });

  it('refuses anything else, naming the path and what was expected', () => {
    const base = { backends: ['127.0.0.1:9001'] };
    const issues = (options: unknown): string[] => {
      try {
        validateOptions(options);
      } catch (error) {
        if (error instanceof LbConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
        throw error;
      }
      return [];
    };
    expect(issues({ ...base, headers: { underscores: 'allow' } })).toEqual([
      "headers.underscores: expected one of drop, keep, reject, got 'allow'",
    ]);
    expect(issues({ ...base, headers: { underscore: 'keep' } })).toEqual([
      "headers: unknown option 'underscore'; expected one of underscores",
    ]);
  });

  it('--underscore-headers sets headers.underscores', () => {
    const parsed = parseArgs(['start', '--backend', '127.0.0.1:9001', '--underscore-headers', 'keep']);
    expect(parsed).toMatchObject({ command: 'start', options: { headers: { underscores: 'keep' } } });
  });
});

describe('lb-native start --underscore-headers (the real binary)', () => {
  beforeAll(ensureBuilt, 150_000);
  killSpawnedAfterEach();

  it('reject: a header name with an underscore gets 400; a clean request is proxied', async () => {
    const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) }));
    const cli = new CliProcess([
      'start',
      '--listen',
      '127.0.0.1:0',
      '--backend',
      backend.address,
      '--workers',
      '1',
      '--underscore-headers',
      'reject',
    ]);
    const listening = await cli.waitForLog('listening');
    const port = Number(new URL(String(listening.url)).port);
    const refused = await RawClient.connect(port);
    await refused.write('GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n');
    await expectErrorThenClose(refused, 400);
    const clean = await RawClient.connect(port);
    await clean.write('GET / HTTP/1.1\r\nHost: h\r\nX-Ok: 1\r\n\r\n');
    expect((await clean.readResponse()).status, printable(clean.received())).toBe(200);
    expect(backend.requests().length).toBe(1);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0 });
  });

  it('a bad value is refused naming the flag and the choices', async () => {
    const cli = new CliProcess(['start', '--backend', '127.0.0.1:9001', '--underscore-headers', 'allow']);
    const result = await cli.waitForExit();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("--underscore-headers: expected one of drop, keep, reject, got 'allow'");
  });
});
