// The live dashboard in a real headless Chromium (playwright-core driving Debian's
// /usr/bin/chromium, installed by scripts/install-browser.sh): loaded against a running
// balancer under traffic, its numbers move; its first frame shows no per-second or
// windowed number (one sample has nothing to compare with); it asks for the token when it
// has none and says so when the one it sent is refused; and a screenshot is written to
// test/admin/__screenshots__/dashboard.png (git-ignored) for people to look at after a run.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';

import type { AcmeCertificateStatus } from '../../src/acme/acme-manager.js';
import { startBalancer } from '../helpers/balancer.js';
import { externalProgramEnv } from '../helpers/external-env.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { sendTraffic, startAdmin, steadyTraffic } from './support.js';
import { freePort } from '../helpers/free-port.js';

afterEach(runCleanups);

const chromiumPath = '/usr/bin/chromium';
const screenshotPath = fileURLToPath(new URL('./__screenshots__/dashboard.png', import.meta.url));
const viewport = { width: 1280, height: 800 };
const token = 'dashboard-test-token-42';

/** A fresh Chromium profile per test, removed afterwards. */
async function openBrowser(): Promise<BrowserContext> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: run scripts/install-browser.sh (as root) to install Chromium for the dashboard tests`,
    );
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'lb-native-chromium-'));
  onCleanup(() => rmSync(userDataDir, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport,
    deviceScaleFactor: 1,
    timeout: 20_000,
    env: externalProgramEnv(),
  });
  onCleanup(() => context.close());
  return context;
}

/** Console errors and page errors (a CSP violation shows up here), to be asserted empty. */
function collectProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

/**
 * A balancer with backends of different speeds, one in maintenance and one that refuses
 * connections; the slow one takes one request at a time, so requests queue for it.
 */
async function busyBalancer() {
  const fast = await startHttpBackend('fast', { delayMs: () => Math.random() * 2 });
  const medium = await startHttpBackend('medium', { delayMs: () => 4 + Math.random() * 8 });
  const slow = await startHttpBackend('slow', { delayMs: () => (Math.random() < 0.05 ? 60 : 18 + Math.random() * 14) });
  const idle = await startHttpBackend('idle');
  const refused = `127.0.0.1:${await freePort()}`;
  const lb = await startBalancer({
    strategy: 'weighted-round-robin',
    backends: [
      { address: fast.address, weight: 3 },
      { address: medium.address, weight: 2 },
      { address: slow.address, maxConnections: 1 },
      { address: idle.address, state: 'maint' },
      { address: refused, healthCheck: { type: 'tcp', intervalMs: 100, timeoutMs: 100, fall: 1, rise: 1 } },
    ],
  });
  return lb;
}

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('dashboard', () => {
  it('shows live numbers that move under traffic, with the token from the URL fragment', { timeout: 60_000 }, async () => {
    const lb = await busyBalancer();
    const admin = await startAdmin(lb, { token });
    const traffic = steadyTraffic(lb.port, { concurrency: 6 });
    const context = await openBrowser();
    const page = await context.newPage();
    const problems = collectProblems(page);
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));

    await page.goto(`${admin.url}#token=${token}`);
    // The token leaves the address bar at once; it stays in this tab's session storage.
    await waitUntil('token removed from the URL', () => !page.url().includes(token));
    await page.waitForSelector('#status.live', { timeout: 10_000 });
    await page.waitForSelector('#backends tr[data-backend-id="4"]', { timeout: 10_000 });

    const totalRequests = async () => Number(await page.getAttribute('#total-requests', 'data-value'));
    const first = await totalRequests();
    await waitUntil('the request counter to move', async () => (await totalRequests()) > first, {
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    expect(await totalRequests()).toBeGreaterThan(first);

    // Rates and percentiles appear once two polls have been seen.
    const cell = (id: number, col: string) => page.textContent(`#backends tr[data-backend-id="${id}"] td[data-col="${col}"]`);
    const number = async (id: number, col: string) => Number((await cell(id, col))?.replace(/,/g, ''));
    await waitUntil('a request rate for backend 0', async () => /^\d/.test((await cell(0, 'rate')) ?? ''), {
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    expect(await number(0, 'rate')).toBeGreaterThan(0);
    expect(await cell(0, 'p50')).toMatch(/^\d+(\.\d+)?$/);
    await waitUntil('p99 for the slow backend', async () => /^\d/.test((await cell(2, 'p99')) ?? ''), {
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    // Percentiles are computed from the histogram deltas: numeric and ordered (a latency
    // comparison between backends would be a timing assertion, which belongs in bench/).
    // Both cells in one read, so they come from the same poll. (This runs in the page;
    // the tests' TypeScript has no DOM types, hence globalThis.)
    const [p50, p99] = await page.evaluate(() => {
      const doc = (globalThis as { document?: { querySelector(s: string): { textContent: string | null } | null } }).document!;
      return ['p50', 'p99'].map((col) =>
        Number(doc.querySelector(`#backends tr[data-backend-id="2"] td[data-col="${col}"]`)?.textContent?.replace(/,/g, '')),
      );
    });
    expect(p99).toBeGreaterThanOrEqual(p50!);
    expect(p99).toBeGreaterThan(0);
    expect(await page.textContent('#backends tr[data-backend-id="3"] .badge')).toBe('maint');
    // The slow backend's queue: a count in the cell, and its history in the tooltip.
    expect(await cell(2, 'queued')).toMatch(/^\d+$/);
    const queueTitle = () => page.getAttribute('#backends tr[data-backend-id="2"] td[data-col="queued"]', 'title');
    await waitUntil(
      'requests that waited for the slow backend',
      async () => /^[1-9][\d,]* waited/.test((await queueTitle()) ?? ''),
      {
        timeoutMs: 10_000,
        intervalMs: 100,
      },
    );
    expect(await queueTitle()).toMatch(/^[1-9][\d,]* waited for a slot since start, \d+\.\d ms on average; \d+ answered 503$/);
    await waitUntil(
      'backend 4 shown down',
      async () => (await page.textContent('#backends tr[data-backend-id="4"] .badge')) === 'down',
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    expect(await page.textContent('#backends tr[data-backend-id="0"] td[data-col="addr"]')).toContain(lb.backends()[0]!.address);

    // Let the sparklines fill a little (five polls), then keep a picture.
    await waitUntil(
      'five points on the request-rate sparkline',
      async () => ((await page.getAttribute('#s-rate path.line', 'd')) ?? '').split('L').length >= 5,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    mkdirSync(join(screenshotPath, '..'), { recursive: true });
    const png = await page.screenshot({ fullPage: false });
    writeFileSync(screenshotPath, png);
    expect(png.length).toBeGreaterThan(10_000);
    expect(pngSize(readFileSync(screenshotPath))).toEqual(viewport);

    await traffic.stop();
    expect(problems).toEqual([]);
    // Everything the page fetched came from the admin server itself.
    expect(requests.every((url) => url.startsWith(admin.url))).toBe(true);
  });

  it('asks for the token when the API answers 401, then goes live', { timeout: 60_000 }, async () => {
    const lb = await busyBalancer();
    const admin = await startAdmin(lb, { token });
    const context = await openBrowser();
    const page = await context.newPage();
    await page.goto(admin.url);
    await page.waitForSelector('#status.auth', { timeout: 10_000 });
    expect(await page.isVisible('#auth form')).toBe(true);
    expect(await page.textContent('#status')).toBe('Token required');
    expect(await page.textContent('#auth-title')).toBe('Admin token required');
    await page.fill('#token', token);
    await page.click('#auth button');
    await page.waitForSelector('#status.live', { timeout: 10_000 });
    expect(await page.isVisible('#auth form')).toBe(false);
    expect(await page.locator('#backends tr').count()).toBe(5);
  });

  it('says so when the token it sent is refused, then goes live with the right one', { timeout: 60_000 }, async () => {
    const lb = await busyBalancer();
    const admin = await startAdmin(lb, { token });
    const context = await openBrowser();
    const page = await context.newPage();
    const problems = collectProblems(page);
    let polls = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/stats') polls += 1;
    });
    await page.goto(`${admin.url}#token=not-the-token`);
    await page.waitForSelector('#status.auth', { timeout: 10_000 });
    expect(await page.textContent('#status')).toBe('Token refused');
    expect(await page.isVisible('#auth form')).toBe(true);
    expect(await page.textContent('#auth-title')).toBe('Admin token refused');
    expect(await page.textContent('#auth-text')).toMatch(/^The admin API refused the token this tab sent\./);
    // Polls go on while the form is shown; each is refused again, and the page keeps saying so.
    const seen = polls;
    await waitUntil('two more polls', () => polls >= seen + 2, { timeoutMs: 10_000, intervalMs: 50 });
    expect(await page.textContent('#status')).toBe('Token refused');
    await page.fill('#token', token);
    await page.click('#auth button');
    await page.waitForSelector('#status.live', { timeout: 10_000 });
    expect(await page.isVisible('#auth form')).toBe(false);
    expect(await page.locator('#backends tr').count()).toBe(5);
    // The browser logs the refused fetch (a 401) as a console error; nothing else may fail.
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
  });

  it('shows no per-second or last-5-s number on its first frame: they need a second sample', { timeout: 60_000 }, async () => {
    const lb = await busyBalancer();
    const admin = await startAdmin(lb);
    // Counters and histograms hold something before the page opens, so an all-time number
    // under a per-second or windowed heading would show.
    const statuses = await sendTraffic(lb.port, 60);
    expect(statuses).toHaveLength(60);
    const context = await openBrowser();
    const page = await context.newPage();
    const problems = collectProblems(page);
    // The page's second poll is held until its first frame has been read.
    let polls = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    onCleanup(() => release());
    await page.route(
      (url) => url.pathname === '/stats',
      async (route) => {
        polls += 1;
        if (polls > 1) await held;
        await route.continue();
      },
    );
    await page.goto(admin.url);
    await page.waitForSelector('#status.live', { timeout: 10_000 });
    await page.waitForSelector('#backends tr[data-backend-id="4"]', { timeout: 10_000 });
    const cell = async (id: number, col: string) =>
      (await page.textContent(`#backends tr[data-backend-id="${id}"] td[data-col="${col}"]`)) ?? '';
    const dash = '\u2013';
    expect(polls).toBe(1);
    for (const id of [0, 1, 2, 3, 4]) {
      for (const col of ['rate', 'p50', 'p95', 'p99', 'errors']) expect(await cell(id, col), `backend ${id} ${col}`).toBe(dash);
    }
    for (const card of ['c-rate', 'c-p99', 'c-errors', 'c-in']) expect(await page.textContent(`#${card} .v`), card).toBe(dash);
    expect(await page.textContent('#c-p99-sub')).toBe('percentiles from the next sample');
    // The all-time counts are there, under headings that say so.
    expect(Number((await cell(0, 'requests')).replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await page.textContent('#c-rate-sub')).toMatch(/^[1-9][\d,]* requests since start$/);

    const traffic = steadyTraffic(lb.port, { concurrency: 4 });
    release();
    await waitUntil(
      'a rate and percentiles for backend 0',
      async () => /^\d/.test(await cell(0, 'rate')) && /^\d/.test(await cell(0, 'p50')),
      {
        timeoutMs: 10_000,
        intervalMs: 100,
      },
    );
    expect(await page.textContent('#c-p99-sub')).toMatch(/^p50 \S+ ms \u00b7 last \d+ s$/);
    await traffic.stop();
    expect(problems).toEqual([]);
  });

  it('needs no token on a loopback server without one', { timeout: 60_000 }, async () => {
    const lb = await busyBalancer();
    const admin = await startAdmin(lb);
    const context = await openBrowser();
    const page = await context.newPage();
    const problems = collectProblems(page);
    await page.goto(admin.url);
    await page.waitForSelector('#status.live', { timeout: 10_000 });
    expect(problems).toEqual([]);
  });

  it('shows the ACME certificates, when there are any, and follows their status', { timeout: 60_000 }, async () => {
    const a = await startHttpBackend('a');
    const lb = await startBalancer({ backends: [a.address], workers: 1 });
    const notAfter = new Date('2030-01-02T03:04:05.000Z');
    let certificates: AcmeCertificateStatus[] = [];
    const admin = await startAdmin(lb, { token, certificates: () => certificates });
    const context = await openBrowser();
    const page = await context.newPage();
    const problems = collectProblems(page);
    const answered: string[] = [];
    page.on('requestfinished', (request) => answered.push(new URL(request.url()).pathname));
    await page.goto(`${admin.url}#token=${token}`);
    await page.waitForSelector('#status.live', { timeout: 10_000 });
    // None: the panel stays hidden.
    await waitUntil('a certificates poll', () => answered.includes('/certificates'), { timeoutMs: 5_000, intervalMs: 50 });
    expect(await page.isHidden('#certificates-panel')).toBe(true);

    certificates = [
      {
        domains: ['shop.test', 'www.shop.test'],
        issuer: 'O=Test\nCN=Test Intermediate CA',
        notAfter,
        daysLeft: 12.25,
        nextAttemptAt: new Date('2029-12-01T00:00:00.000Z'),
        ordering: false,
        failures: 2,
        lastResult: { at: new Date('2029-12-01T00:00:00.000Z'), ok: false, error: 'connect ECONNREFUSED 127.0.0.1:14000' },
      },
    ];
    const row = 'tr[data-domains="shop.test www.shop.test"]';
    await page.waitForSelector(`#certificates ${row}`, { timeout: 10_000 });
    const cell = (col: string) => page.textContent(`#certificates ${row} td[data-col="${col}"]`);
    expect(await cell('names')).toBe('shop.test www.shop.test');
    expect(await cell('issuer')).toBe('Test Intermediate CA');
    expect(await cell('days')).toBe('12.3');
    expect(await page.getAttribute(`#certificates ${row} td[data-col="days"]`, 'class')).toContain('bad');
    expect(await cell('expires')).toBe('2030-01-02 03:04 UTC');
    expect(await cell('next')).toBe('2029-12-01 00:00 UTC');
    expect(await cell('result')).toBe('failed \u00d72: connect ECONNREFUSED 127.0.0.1:14000');
    expect(await page.isVisible('#certificates-panel')).toBe(true);
    await page.screenshot({ path: screenshotPath.replace(/\.png$/, '-certificates.png'), fullPage: true });

    // Renewed: the row follows on a later poll.
    certificates = [{ ...certificates[0]!, daysLeft: 89.9, failures: 0, lastResult: { at: notAfter, ok: true } }];
    await waitUntil('the renewed row', async () => (await cell('days')) === '89.9', { timeoutMs: 10_000, intervalMs: 100 });
    expect(await cell('result')).toBe('ok 2030-01-02 03:04 UTC');
    expect(await page.getAttribute(`#certificates ${row} td[data-col="days"]`, 'class')).not.toContain('bad');
    expect(await page.$$eval('#certificates tr', (rows) => rows.length)).toBe(1);
    expect(problems).toEqual([]);
  });
});
