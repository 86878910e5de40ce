// Session resumption through the listener: the ticket keys are made by the control plane,
// shared by every worker and rotated on a schedule. A ticket resumes whatever worker
// accepts the reconnection; a ticket older than the kept keys gets a full handshake (and
// the request still succeeds). Real clients: node:tls and openssl s_client.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { createBalancer } from '../../src/index.js';
import { LbConfigError } from '../../src/errors.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { externalProgramEnv } from '../helpers/external-env.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { startOkBackend, startOkTlsBalancer } from './ok-backend.js';
import { visit, type Visit } from './tls-visit.js';

const fixtures = useTlsFixtures();

afterEach(async () => {
  await runCleanups();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('session tickets', () => {
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    it(`resumes one ticket on every reconnection across 2 workers (${version})`, async () => {
      const lb = await startOkTlsBalancer(fixtures.ecdsa, {}, { workers: 2 });
      const first = await visit(fixtures.ca, lb.port, undefined, version);
      expect(first).toMatchObject({ reused: false, status: 'HTTP/1.1 200 OK' });
      expect(first.session).toBeDefined();
      // 40 reconnections from new source ports: SO_REUSEPORT spreads them over both
      // workers (all on one worker would be a 2^-39 chance), and each must resume.
      const visits: Visit[] = [];
      for (let i = 0; i < 40; i++) visits.push(await visit(fixtures.ca, lb.port, first.session, version));
      expect(visits.map((v) => v.status)).toEqual(visits.map(() => 'HTTP/1.1 200 OK'));
      expect(visits.filter((v) => !v.reused)).toHaveLength(0);
    });
  }

  // Regression: a resumed TLS 1.3 connection got no new ticket (the ticket callback did not
  // ask for renewal), so a client that uses each ticket once (wrk, browsers, RFC 8446's
  // advice) did a full handshake every other connection.
  it('gives every resumed TLS 1.3 connection a new ticket, so a client using each ticket once keeps resuming', async () => {
    const lb = await startOkTlsBalancer(fixtures.ecdsa, {}, { workers: 2 });
    let visitResult = await visit(fixtures.ca, lb.port);
    expect(visitResult).toMatchObject({ reused: false, status: 'HTTP/1.1 200 OK' });
    const chain: Visit[] = [];
    for (let i = 0; i < 12; i++) {
      const ticket = visitResult.session;
      expect(ticket).toBeDefined();
      visitResult = await visit(fixtures.ca, lb.port, ticket);
      chain.push(visitResult);
    }
    expect(chain.map((v) => v.status)).toEqual(chain.map(() => 'HTTP/1.1 200 OK'));
    expect(chain.filter((v) => !v.reused)).toHaveLength(0);
    expect(chain.filter((v) => v.session === undefined)).toHaveLength(0);
    const counts = lb.stats().tls!;
    expect(counts.handshakesFull).toBe(1);
    expect(counts.handshakesResumed).toBe(12);
  });

  it('openssl s_client -sess_out / -sess_in resumes on every reconnection', async () => {
    const lb = await startOkTlsBalancer(fixtures.ecdsa, {}, { workers: 2 });
    const folder = await mkdtemp(join(tmpdir(), 'lb-tickets-'));
    onCleanup(() => rm(folder, { recursive: true, force: true }));
    const sessionFile = join(folder, 'session.pem');
    const sClient = (sessionArgs: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(
          'openssl',
          [
            's_client',
            '-connect',
            `127.0.0.1:${lb.port}`,
            '-servername',
            'localhost',
            '-CAfile',
            fixtures.ca.certFile,
            '-ign_eof',
            ...sessionArgs,
          ],
          { env: externalProgramEnv(), timeout: 10_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        );
        child.stdin?.end('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
    const first = await sClient(['-sess_out', sessionFile]);
    expect(first).toMatch(/^New, TLSv1\.3/m);
    for (let i = 0; i < 8; i++) {
      const again = await sClient(['-sess_in', sessionFile]);
      expect(again).toMatch(/^Reused, TLSv1\.3/m);
      expect(again).toContain('HTTP/1.1 200 OK');
    }
  });

  it('keeps accepting tickets of the kept previous keys after a rotation, and not older ones (full handshake instead)', async () => {
    const lb = await startOkTlsBalancer(
      fixtures.ecdsa,
      { sessionTickets: { rotateSeconds: 3600, keepPrevious: 1 } },
      { workers: 2 },
    );
    const old = await visit(fixtures.ca, lb.port);
    lb.rotateTicketKeys(); // the key `old` was sealed with is now the previous one: still accepted
    const afterOne = await visit(fixtures.ca, lb.port, old.session);
    expect(afterOne).toMatchObject({ reused: true, status: 'HTTP/1.1 200 OK' });
    lb.rotateTicketKeys(); // now it is gone
    const afterTwo = await visit(fixtures.ca, lb.port, old.session);
    expect(afterTwo).toMatchObject({ reused: false, status: 'HTTP/1.1 200 OK' });
    // The full handshake handed out a ticket under the current key, which resumes.
    expect(await visit(fixtures.ca, lb.port, afterTwo.session)).toMatchObject({ reused: true, status: 'HTTP/1.1 200 OK' });
  });

  it('rotates on its own every rotateSeconds: a ticket older than the kept keys is not resumed, the handshake still succeeds', async () => {
    const lb = await startOkTlsBalancer(
      fixtures.ecdsa,
      { sessionTickets: { rotateSeconds: 1, keepPrevious: 1 } },
      { workers: 2 },
    );
    const old = await visit(fixtures.ca, lb.port);
    // A fresh ticket resumes at once (two rotations would be needed in between to lose it).
    expect(await visit(fixtures.ca, lb.port, old.session)).toMatchObject({ reused: true });
    await sleep(3_500); // at least three rotations: the key of `old` is no longer kept
    const later = await visit(fixtures.ca, lb.port, old.session);
    expect(later).toMatchObject({ reused: false, status: 'HTTP/1.1 200 OK' });
  });

  it("resumes a ticket from one TLS listener on another: the keys are the balancer's, not a listener's", async () => {
    const backend = await startOkBackend();
    const certificates = [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }];
    const lb = createBalancer({
      backends: [backend],
      workers: 2,
      listeners: [
        { listen: '127.0.0.1:0', tls: { certificates } },
        { listen: '127.0.0.1:0', tls: { certificates, hsts: { maxAgeSeconds: 60 } } },
      ],
    });
    onCleanup(() => lb.stop({ deadlineMs: 1_000 }).then(() => undefined));
    await lb.start();
    const [first, second] = lb.listeners;
    const issued = await visit(fixtures.ca, first!.port);
    expect(issued).toMatchObject({ reused: false, status: 'HTTP/1.1 200 OK' });
    const elsewhere = await visit(fixtures.ca, second!.port, issued.session);
    expect(elsewhere).toMatchObject({ reused: true, status: 'HTTP/1.1 200 OK' });
    // A rotation reaches every listener: the new key's tickets resume on both.
    lb.rotateTicketKeys();
    const fresh = await visit(fixtures.ca, second!.port);
    expect((await visit(fixtures.ca, first!.port, fresh.session)).reused).toBe(true);
  });

  it('refuses listeners that give different sessionTickets, naming the one that differs', () => {
    const certificates = [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }];
    expect(() =>
      createBalancer({
        backends: ['127.0.0.1:1'],
        listeners: [
          { listen: '127.0.0.1:0', tls: { certificates, sessionTickets: { rotateSeconds: 600 } } },
          { listen: '127.0.0.1:0', tls: { certificates } },
          { listen: '127.0.0.1:0', tls: { certificates, sessionTickets: { rotateSeconds: 60 } } },
        ],
      }),
    ).toThrow(/listeners\[2\]\.tls\.sessionTickets.*same as listeners\[0\]\.tls\.sessionTickets/);
  });

  it('refuses bad sessionTickets settings naming the field', () => {
    const tlsOptions = (sessionTickets: unknown) => ({
      backends: ['127.0.0.1:1'],
      tls: { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }], sessionTickets },
    });
    const refused = (options: unknown) => {
      try {
        createBalancer(options as Parameters<typeof createBalancer>[0]);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const zero = refused(tlsOptions({ rotateSeconds: 0 }));
    expect(zero).toBeInstanceOf(LbConfigError);
    expect(String((zero as Error).message)).toMatch(/tls\.sessionTickets\.rotateSeconds.*expected an integer from 1/);
    const many = refused(tlsOptions({ keepPrevious: 16 }));
    expect(String((many as Error).message)).toMatch(/tls\.sessionTickets\.keepPrevious.*expected an integer from 0 to 15/);
    const unknown = refused(tlsOptions({ every: 5 }));
    expect(String((unknown as Error).message)).toMatch(/tls\.sessionTickets/);
  });
});
