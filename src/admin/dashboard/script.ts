// The dashboard's script, run in the browser: polls GET stats every second and shows, per
// backend, the request rate, latency percentiles over the last few seconds, errors,
// state, health and connections, with hand-drawn SVG sparklines; and, every few seconds,
// GET certificates (the ACME certificates, when there are any). It asks for the admin
// token when the API wants one, and says so when the token it sent was refused.
//
// The page gets the source text of these functions (dashboard-page.ts joins them into
// one inline script), so its histogram deltas and percentiles are histogram.ts's own,
// and its byte counts byte-units.ts's.
// What makes that work: every function here is exported (the page gets them all) and
// uses only its arguments, the other functions here, `maths`, `pageSettings` and the
// browser globals declared below. An imported value may appear only in `maths`: a test
// runner's module transform rewrites references to imports inside function bodies.
import type { BackendStats, BalancerStats } from '../../stats.js';
import { formatBytes as formatByteCount } from '../byte-units.js';
import { histogramDelta, percentileMs, sumHistograms } from '../histogram.js';
import type {
  PageDocument,
  PageElement,
  PageFetch,
  PageHistory,
  PageInput,
  PageLocation,
  PagePerformance,
  PageStorage,
  PageSvg,
} from './browser.js';

/** histogram.ts's maths and byte-units.ts's formatter; the page defines `maths` from the same functions. */
export const maths = { histogramDelta, percentileMs, sumHistograms, formatBytes: formatByteCount };

/** The page's constants; it gets them as JSON. */
export const pageSettings = {
  /** How often GET stats is polled. */
  pollMs: 1000,
  /** Sparkline points (one per poll). */
  historyPoints: 60,
  /** Percentiles cover the last this many polls (once that many have been seen). */
  windowPolls: 5,
  /** GET certificates is polled once every this many polls of GET stats (days change slowly). */
  certificatesEveryPolls: 5,
  /** Where this browser tab keeps the token (session storage). */
  tokenKey: 'lb-native-admin-token',
};

declare const document: PageDocument;
declare const location: PageLocation;
declare const history: PageHistory;
declare const sessionStorage: PageStorage;
declare const fetch: PageFetch;
declare const performance: PagePerformance;

// ---- What a frame shows (pure: tested without a browser) ----------------------------

/** One poll's answer and when it arrived (ms, monotonic). */
export interface Sample {
  at: number;
  stats: BalancerStats;
}

/** Per-second and windowed numbers for one backend; null/undefined until a second sample. */
export interface BackendFrame {
  requestRate: number | null;
  errorRate: number | null;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
}

/**
 * What the newest sample shows next to the ones before it. Rates compare it with the
 * previous sample, percentiles cover the counts since the oldest one (`windowSeconds`).
 * With one sample there is nothing to compare: rates are null and percentiles undefined
 * (never all-time totals under per-second or windowed headings).
 */
export interface Frame {
  requestRate: number | null;
  errorRate: number | null;
  bytesInRate: number | null;
  bytesOutRate: number | null;
  p50: number | undefined;
  p99: number | undefined;
  /** Seconds the percentiles cover; null with one sample. */
  windowSeconds: number | null;
  backends: Map<number, BackendFrame>;
}

/** 5xx answers, connect errors and backend errors of one backend. */
export function errorsOf(b: BackendStats): number {
  return b.responses5xx + b.connectErrors + b.backendErrors;
}

/** The frame for the newest of `samples` (oldest first; at least one). */
export function frameOf(samples: readonly Sample[]): Frame {
  const newest = samples[samples.length - 1]!;
  const previous = samples.length > 1 ? samples[samples.length - 2] : undefined;
  const oldest = samples.length > 1 ? samples[0] : undefined;
  const stats = newest.stats;
  const seconds = previous ? (newest.at - previous.at) / 1000 : 0;
  const perSecond = (now: number, before: number | undefined): number | null =>
    previous === undefined || seconds <= 0 || before === undefined ? null : Math.max(0, now - before) / seconds;
  const bounds = stats.latencyBoundsMs;
  const previousById = new Map((previous?.stats.backends ?? []).map((b) => [b.id, b]));
  const oldestById = new Map((oldest?.stats.backends ?? []).map((b) => [b.id, b]));

  const backends = new Map<number, BackendFrame>();
  const windows: number[][] = [];
  for (const b of stats.backends) {
    const before = previousById.get(b.id);
    // A backend added since the previous sample counts from zero.
    const baseline = (value: (s: BackendStats) => number): number | undefined =>
      before ? value(before) : previous ? 0 : undefined;
    const window = oldest ? maths.histogramDelta(b.totalTime, oldestById.get(b.id)?.totalTime) : undefined;
    if (window) windows.push(window);
    const percentile = (q: number): number | undefined => (window ? maths.percentileMs(window, bounds, q) : undefined);
    backends.set(b.id, {
      requestRate: perSecond(
        b.requests,
        baseline((s) => s.requests),
      ),
      errorRate: perSecond(errorsOf(b), baseline(errorsOf)),
      p50: percentile(0.5),
      p95: percentile(0.95),
      p99: percentile(0.99),
    });
  }
  const all = oldest ? maths.sumHistograms(windows, bounds.length + 1) : undefined;
  return {
    requestRate: perSecond(stats.requests, previous?.stats.requests),
    errorRate: perSecond(stats.responses5xx, previous?.stats.responses5xx),
    bytesInRate: perSecond(stats.bytesFromClients, previous?.stats.bytesFromClients),
    bytesOutRate: perSecond(stats.bytesToClients, previous?.stats.bytesToClients),
    p50: all ? maths.percentileMs(all, bounds, 0.5) : undefined,
    p99: all ? maths.percentileMs(all, bounds, 0.99) : undefined,
    windowSeconds: oldest ? Math.max(1, Math.round((newest.at - oldest.at) / 1000)) : null,
    backends,
  };
}

/** One certificate as GET certificates gives it (AcmeCertificateStatus in JSON: dates as ISO strings). */
export interface CertificateView {
  domains: string[];
  issuer?: string;
  notAfter?: string;
  daysLeft?: number;
  nextAttemptAt?: string;
  ordering: boolean;
  failures: number;
  lastResult?: { at: string; ok: boolean; error?: string };
}

/** The cells of a certificate's row, by column, each [text, title]; `bad` when it needs attention. */
export function certificateCells(c: CertificateView): {
  cells: Record<'names' | 'issuer' | 'days' | 'expires' | 'next' | 'result', [string, string]>;
  bad: { days: boolean; result: boolean };
} {
  // The issuer is a distinguished name, one attribute a line: its CN says enough.
  const issuerLines = (c.issuer ?? '').split('\n');
  const cn = issuerLines.find((line) => line.startsWith('CN='));
  const issuer = cn ? cn.slice(3) : (issuerLines[0] ?? '');
  const result = c.lastResult;
  const resultText = !result
    ? dash()
    : result.ok
      ? `ok ${formatUtc(result.at)}`
      : `failed${c.failures > 1 ? ` \u00d7${c.failures}` : ''}: ${result.error ?? 'unknown error'}`;
  return {
    cells: {
      names: [c.domains.join(' '), ''],
      issuer: [issuer || dash(), c.issuer ?? ''],
      days: [c.daysLeft === undefined ? dash() : c.daysLeft.toFixed(1), ''],
      expires: [c.notAfter ? formatUtc(c.notAfter) : dash(), c.notAfter ?? ''],
      next: [c.ordering ? 'ordering now' : c.nextAttemptAt ? formatUtc(c.nextAttemptAt) : dash(), c.nextAttemptAt ?? ''],
      result: [resultText.length > 60 ? `${resultText.slice(0, 59)}\u2026` : resultText, resultText],
    },
    bad: { days: c.daysLeft !== undefined && c.daysLeft <= 14, result: result !== undefined && !result.ok },
  };
}

// ---- Formatting ---------------------------------------------------------------------------

/** An ISO 8601 time as `YYYY-MM-DD HH:MM UTC`. */
export function formatUtc(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** What the page shows where a number needs a second sample. */
export function dash(): string {
  return '\u2013';
}

export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatRate(n: number | null): string {
  if (n === null) return dash();
  return n < 100 ? n.toFixed(1) : formatInt(n);
}

export function formatMs(ms: number | undefined, bounds: readonly number[]): string {
  if (ms === undefined) return dash();
  if (ms === Infinity) return `>${bounds[bounds.length - 1] ?? 0}`;
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return formatInt(ms);
}

export function formatBytes(n: number | null): string {
  return n === null ? dash() : maths.formatBytes(n);
}

// ---- The page -----------------------------------------------------------------------------

/** One backend's table row and the elements inside it that change. */
interface Row {
  tr: PageElement;
  cells: Record<string, PageElement>;
  address: PageElement;
  host: PageElement;
  badge: PageElement;
  health: PageElement;
  spark: PageSvg;
  rates: number[];
}

/** Everything the page keeps between polls. */
interface PageState {
  token: string;
  /** GET stats polls so far (GET certificates goes with every certificatesEveryPolls-th). */
  polls: number;
  /** The newest samples, oldest first: windowPolls + 1 at most. */
  samples: Sample[];
  series: Record<'rate' | 'p99' | 'errors' | 'conns' | 'traffic', number[]>;
  rows: Map<number, Row>;
}

export function byId<T extends PageElement = PageElement>(id: string): T {
  return document.getElementById(id) as T;
}

export function setText(element: PageElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

export function setValue(id: string, text: string, unit: string): void {
  const card = byId(id);
  setText(card.querySelector('.v')!, text);
  setText(card.querySelector('.unit')!, unit);
}

export function setStatus(kind: 'live' | 'down' | 'auth', text: string): void {
  const pill = byId('status');
  pill.className = `pill ${kind}`;
  setText(pill, text);
}

/** The token from the URL fragment (then removed from the address bar) or this tab's storage. */
export function readToken(): string {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    try {
      sessionStorage.setItem(pageSettings.tokenKey, fromHash);
    } catch {
      // Storage off: the token lives in memory only.
    }
    history.replaceState(null, '', location.pathname + location.search);
    return fromHash;
  }
  try {
    return sessionStorage.getItem(pageSettings.tokenKey) ?? '';
  } catch {
    return '';
  }
}

export function sparkSvg(color: string, width: number, height: number): PageSvg {
  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNs, 'svg') as PageSvg;
  svg.setAttribute('class', `spark ${color}`);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const area = document.createElementNS(svgNs, 'path');
  area.setAttribute('class', 'area');
  const line = document.createElementNS(svgNs, 'path');
  line.setAttribute('class', 'line');
  svg.appendChild(area);
  svg.appendChild(line);
  return svg;
}

export function drawSpark(svg: PageSvg, values: readonly number[]): void {
  const { width, height } = svg.viewBox.baseVal;
  const pad = 2;
  const line = svg.querySelector('path.line')!;
  const area = svg.querySelector('path.area')!;
  if (values.length < 2) {
    line.setAttribute('d', '');
    area.setAttribute('d', '');
    return;
  }
  // Headroom above the highest point, so a steady series does not hug the top.
  const max = Math.max(...values, 1e-9) * 1.15;
  // Until historyPoints points have arrived, the points that have are spread over the width.
  const step = width / (values.length - 1);
  let d = '';
  values.forEach((v, i) => {
    const x = step * i;
    const y = height - pad - (height - 2 * pad) * (v / max);
    d += `${i === 0 ? 'M' : 'L'}${x.toFixed(1)} ${y.toFixed(1)}`;
  });
  line.setAttribute('d', d);
  area.setAttribute('d', `${d}L${width} ${height}L0 ${height}Z`);
}

export function pushPoint(list: number[], value: number): void {
  list.push(value);
  if (list.length > pageSettings.historyPoints) list.shift();
}

/** [badge class, badge text] for a backend. */
export function stateOf(b: BackendStats, workers: number): [string, string] {
  if (b.state !== 'ready') return [b.state, b.state];
  if (b.health === 'down') return ['down', 'down'];
  if (b.ejectedWorkers > 0) return ['ejected', `ejected ${b.ejectedWorkers}/${workers}`];
  return ['ready', 'ready'];
}

/** A backend's queue since start, in words: how many waited, how long on average, how many got 503. */
export function queueSummary(b: BackendStats): string {
  const refused = b.queueTimeouts + b.queueFull;
  const average = b.dequeued > 0 ? (b.queueWaitUsTotal / b.dequeued / 1000).toFixed(1) : '0';
  return `${formatInt(b.dequeued)} waited for a slot since start, ${average} ms on average; ${formatInt(refused)} answered 503`;
}

export function makeRow(b: BackendStats): Row {
  const tr = document.createElement('tr');
  tr.dataset.backendId = String(b.id);
  const names = [
    'id',
    'addr',
    'state',
    'weight',
    'rate',
    'spark',
    'p50',
    'p95',
    'p99',
    'errors',
    'active',
    'idle',
    'queued',
    'requests',
  ];
  const classes: Record<string, string> = {
    id: 'id n',
    weight: 'n',
    rate: 'n',
    p50: 'n',
    p95: 'n',
    p99: 'n',
    errors: 'n',
    active: 'n',
    idle: 'n',
    queued: 'n',
    requests: 'n muted',
    spark: 'spark-cell',
    addr: 'addr',
  };
  const cells: Record<string, PageElement> = {};
  for (const name of names) {
    const td = document.createElement('td');
    if (classes[name]) td.className = classes[name];
    td.dataset.col = name;
    cells[name] = td;
    tr.appendChild(td);
  }
  const address = document.createElement('span');
  const host = document.createElement('span');
  host.className = 'host';
  cells.addr!.appendChild(address);
  cells.addr!.appendChild(host);
  const badge = document.createElement('span');
  const health = document.createElement('span');
  health.className = 'health';
  cells.state!.appendChild(badge);
  cells.state!.appendChild(health);
  const spark = sparkSvg('blue', 96, 28);
  cells.spark!.appendChild(spark);
  return { tr, cells, address, host, badge, health, spark, rates: [] };
}

export function render(state: PageState, stats: BalancerStats, at: number): void {
  state.samples.push({ at, stats });
  if (state.samples.length > pageSettings.windowPolls + 1) state.samples.shift();
  const frame = frameOf(state.samples);
  const bounds = stats.latencyBoundsMs;

  // Balancer-wide.
  const series = state.series;
  if (frame.requestRate !== null) {
    pushPoint(series.rate, frame.requestRate);
    pushPoint(series.errors, frame.errorRate ?? 0);
    pushPoint(series.p99, frame.p99 === undefined || frame.p99 === Infinity ? 0 : frame.p99);
    pushPoint(series.conns, stats.activeClientConnections);
    pushPoint(series.traffic, (frame.bytesInRate ?? 0) + (frame.bytesOutRate ?? 0));
  }
  setValue('c-rate', formatRate(frame.requestRate), 'req/s');
  setText(byId('c-rate-sub'), `${formatInt(stats.requests)} requests since start`);
  byId('total-requests').dataset.value = String(stats.requests);
  setValue('c-p99', formatMs(frame.p99, bounds), 'ms');
  setText(
    byId('c-p99-sub'),
    frame.windowSeconds === null
      ? 'percentiles from the next sample'
      : `p50 ${formatMs(frame.p50, bounds)} ms \u00b7 last ${frame.windowSeconds} s`,
  );
  setValue('c-errors', formatRate(frame.errorRate), '5xx/s');
  setText(byId('c-errors-sub'), `${formatInt(stats.responses5xx)} 5xx \u00b7 ${formatInt(stats.responses4xx)} 4xx since start`);
  setValue('c-conns', formatInt(stats.activeClientConnections), 'open');
  setText(byId('c-conns-sub'), `${formatInt(stats.acceptedConnections)} accepted since start`);
  setValue('c-in', frame.bytesInRate === null ? dash() : `${formatBytes(frame.bytesInRate)}/s`, 'in');
  setText(
    byId('c-in-sub'),
    `${frame.bytesOutRate === null ? dash() : `${formatBytes(frame.bytesOutRate)}/s`} out \u00b7 ${formatBytes(stats.bytesToClients)} sent`,
  );
  drawSpark(byId<PageSvg>('s-rate'), series.rate);
  drawSpark(byId<PageSvg>('s-p99'), series.p99);
  drawSpark(byId<PageSvg>('s-errors'), series.errors);
  drawSpark(byId<PageSvg>('s-conns'), series.conns);
  drawSpark(byId<PageSvg>('s-traffic'), series.traffic);

  // Backends.
  const tbody = byId('backends');
  const seen = new Set<number>();
  stats.backends.forEach((b, index) => {
    seen.add(b.id);
    let row = state.rows.get(b.id);
    if (!row) {
      row = makeRow(b);
      state.rows.set(b.id, row);
    }
    if (tbody.children[index] !== row.tr) tbody.insertBefore(row.tr, tbody.children[index] ?? null);
    const numbers = frame.backends.get(b.id)!;
    if (numbers.requestRate !== null) pushPoint(row.rates, numbers.requestRate);
    const [badgeClass, badgeText] = stateOf(b, stats.workers);
    setText(row.cells.id!, String(b.id));
    setText(row.address, b.address);
    setText(row.host, b.address.indexOf(b.host) === -1 && b.host ? `${b.host}:${b.port}` : '');
    row.badge.className = `badge ${badgeClass}`;
    setText(row.badge, badgeText);
    // Why a backend is down, in short (the whole reason in the tooltip).
    const reason = b.health === 'down' && b.healthReason ? b.healthReason : '';
    setText(row.health, reason.length > 26 ? `${reason.slice(0, 25)}\u2026` : reason);
    row.health.title = reason;
    setText(row.cells.weight!, String(b.weight));
    setText(row.cells.rate!, formatRate(numbers.requestRate));
    setText(row.cells.p50!, formatMs(numbers.p50, bounds));
    setText(row.cells.p95!, formatMs(numbers.p95, bounds));
    setText(row.cells.p99!, formatMs(numbers.p99, bounds));
    setText(row.cells.errors!, formatRate(numbers.errorRate));
    row.cells.errors!.className = `n${numbers.errorRate ? ' bad' : ''}`;
    row.cells.errors!.title =
      `${formatInt(errorsOf(b))} since start: ${formatInt(b.responses5xx)} 5xx, ${formatInt(b.connectErrors)} connect, ` +
      `${formatInt(b.backendErrors)} backend errors, ${formatInt(b.retries)} retries`;
    setText(row.cells.active!, formatInt(b.activeConnections));
    setText(row.cells.idle!, formatInt(b.idleConnections));
    // Requests waiting for one of its maxConnections slots now; the tooltip has the history.
    setText(row.cells.queued!, formatInt(b.queued));
    row.cells.queued!.title = queueSummary(b);
    setText(row.cells.requests!, formatInt(b.requests));
    drawSpark(row.spark, row.rates);
  });
  state.rows.forEach((row, id) => {
    if (!seen.has(id)) {
      row.tr.remove();
      state.rows.delete(id);
    }
  });
  byId('no-backends').hidden = stats.backends.length > 0;
  const count = stats.backends.length;
  setText(
    byId('backend-count'),
    `${count} ${count === 1 ? 'backend' : 'backends'} \u00b7 ${stats.workers} ${stats.workers === 1 ? 'worker' : 'workers'}`,
  );

  // Balancer-generated failures and internals.
  setText(byId('f-bad'), formatInt(stats.badRequests));
  setText(byId('f-nobackend'), formatInt(stats.noBackend));
  setText(byId('f-502'), formatInt(stats.badGateway));
  setText(byId('f-504'), formatInt(stats.gatewayTimeout));
  setText(byId('f-worker'), formatInt(stats.workerErrors));
  setText(byId('f-dropped'), formatInt(stats.eventsDropped + stats.accessLogDropped));
  setText(byId('updated'), `updated ${new Date().toLocaleTimeString('en-GB')}`);
}

/** The certificates table: one row per certificate, rebuilt each time (there are few); hidden when none. */
export function renderCertificates(list: readonly CertificateView[]): void {
  const tbody = byId('certificates');
  while (tbody.children.length > 0) tbody.children[0]!.remove();
  const classes: Record<string, string> = { names: 'addr', days: 'n' };
  for (const certificate of list) {
    const { cells, bad } = certificateCells(certificate);
    const tr = document.createElement('tr');
    tr.dataset.domains = certificate.domains.join(' ');
    for (const [name, [text, title]] of Object.entries(cells)) {
      const td = document.createElement('td');
      const isBad = (name === 'days' && bad.days) || (name === 'result' && bad.result);
      td.className = [classes[name] ?? '', isBad ? 'bad' : ''].join(' ').trim();
      td.dataset.col = name;
      td.textContent = text;
      if (title) td.title = title;
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  byId('certificates-panel').hidden = list.length === 0;
}

/** GET certificates into the table; a failure leaves the table as it was (GET stats reports the connection). */
export async function pollCertificates(state: PageState): Promise<void> {
  try {
    const res = await fetch('certificates', {
      headers: state.token ? { Authorization: `Bearer ${state.token}` } : {},
      cache: 'no-store',
    });
    if (!res.ok) return;
    renderCertificates(((await res.json()) as { certificates: CertificateView[] }).certificates);
  } catch {
    // The next round tries again.
  }
}

/** Shows or hides the token form; `refused` says the token this tab sent was turned down. */
export function showAuth(show: boolean, refused: boolean): void {
  byId('auth').hidden = !show;
  if (!show) return;
  setText(byId('auth-title'), refused ? 'Admin token refused' : 'Admin token required');
  setText(
    byId('auth-text'),
    refused
      ? 'The admin API refused the token this tab sent. Enter the right one; it is kept for this browser tab only.'
      : 'This admin API needs a bearer token. It is kept for this browser tab only.',
  );
  byId('token').focus();
}

export async function poll(state: PageState): Promise<void> {
  let res;
  try {
    res = await fetch('stats', { headers: state.token ? { Authorization: `Bearer ${state.token}` } : {}, cache: 'no-store' });
  } catch {
    setStatus('down', 'Disconnected \u2013 retrying');
    return;
  }
  if (res.status === 401) {
    // With no token the API asks for one; with a token it refused that one.
    const refused = state.token !== '';
    setStatus('auth', refused ? 'Token refused' : 'Token required');
    showAuth(true, refused);
    return;
  }
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try {
      message = ((await res.json()) as { error: { message: string } }).error.message;
    } catch {
      // Not our JSON: the status says enough.
    }
    setStatus('down', message);
    return;
  }
  const stats = (await res.json()) as BalancerStats;
  showAuth(false, false);
  render(state, stats, performance.now());
  setStatus('live', 'Live');
  if (state.polls % pageSettings.certificatesEveryPolls === 0) await pollCertificates(state);
  state.polls += 1;
}

export function loop(state: PageState): void {
  poll(state)
    .catch((error: unknown) => setStatus('down', String((error as Error | undefined)?.message ?? error)))
    .then(() => setTimeout(() => loop(state), pageSettings.pollMs));
}

/** Runs the page: the page's script calls this once. */
export function start(): void {
  const state: PageState = {
    token: readToken(),
    polls: 0,
    samples: [],
    series: { rate: [], p99: [], errors: [], conns: [], traffic: [] },
    rows: new Map(),
  };
  byId('auth').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<PageInput>('token');
    state.token = input.value.trim();
    try {
      sessionStorage.setItem(pageSettings.tokenKey, state.token);
    } catch {
      // Memory only.
    }
    input.value = '';
    showAuth(false, false);
  });
  setText(byId('where'), location.host);
  const colors = ['blue', 'violet', 'red', 'green', 'amber'];
  ['s-rate', 's-p99', 's-errors', 's-conns', 's-traffic'].forEach((id, i) => {
    const svg = sparkSvg(colors[i]!, 200, 30);
    svg.id = id;
    byId(`${id}-slot`).replaceWith(svg);
  });
  loop(state);
}
