// The admin API's routes: what each method on each path does, through the Balancer's
// public API only. Authentication, origin checks and the dashboard page are handled
// before a request gets here (see admin-server.ts).
//
//   GET    /stats           200 balancer.stats() as JSON (503 before the balancer started)
//   GET    /metrics         200 Prometheus text format 0.0.4 (503 before the balancer started)
//   GET    /backends        200 { strategy, backends: BackendStatus[], removing: BackendStatus[] }
//   POST   /backends        201 BackendStatus, Location: /backends/<id>; 400 naming the field
//   GET    /backends/:id    200 BackendStatus (with `removing: true` while being removed); 404
//   PATCH  /backends/:id    200 BackendStatus after { weight?, state?, maxConnections? }; 400; 404
//   DELETE /backends/:id    202 { backend, removing: true } at once: it drains, then goes;
//                           with ?wait=true, 200 { backend, removed: true } once it has gone.
//                           404 unknown; 409 the only backend
//   GET    /certificates    200 { certificates: [...] }: each ACME certificate's names, issuer,
//                           days left, not-after, next attempt and last result (dates ISO 8601)
//   GET    /protection      200 the edge rules in force (allow, deny, limits) and their counters
//   POST   /reload          200 { ok: true, ... } | 400 { error: { code: 'reload_failed', errors } } | 501
//
// `:id` is a backend's numeric id, or its address as configured (URL-encoded).
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { AcmeCertificateStatus } from '../acme/acme-manager.js';
import type { Balancer } from '../balancer.js';
import { formatAddress } from '../config/address.js';
import { LbConfigError, LbError, LbResolveError, LbStateError, formatIssue } from '../errors.js';
import type { BackendStatus } from '../stats.js';
import { AdminHttpError, readJsonBody, sendJson, sendText } from './http-io.js';
import { certificateMetrics } from './certificate-metrics.js';
import { prometheusContentType, renderPrometheus } from './prometheus.js';
import { protectionView } from './protection-view.js';
import { parseAddBackendBody, parseBackendPatch } from './request-bodies.js';

/** What the admin API needs of a balancer: the public Balancer API, no more. */
export type AdminBalancer = Pick<
  Balancer,
  | 'stats'
  | 'backends'
  | 'addBackend'
  | 'removeBackend'
  | 'setWeight'
  | 'setBackendState'
  | 'setMaxConnections'
  | 'strategy'
  | 'config'
  | 'clusterLimitsStats'
>;

/** What a reload callback reports: whether the new configuration was applied, or why not. */
export interface ReloadResult {
  ok: boolean;
  errors?: string[];
}

export type ReloadCallback = () => Promise<ReloadResult>;

export interface RouteContext {
  balancer: AdminBalancer;
  reload: ReloadCallback | undefined;
  /** The ACME certificates' status, now ([] without ACME). */
  certificates: () => readonly AcmeCertificateStatus[];
  /** Backends removed through this API whose drain has not finished, by id. */
  removing: Map<number, BackendStatus>;
  /** The reload running now, if any: reloads run one at a time. */
  reloading: Promise<unknown> | undefined;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Handler = (ctx: RouteContext, req: IncomingMessage, res: ServerResponse, params: RouteParams) => Promise<void> | void;

interface RouteParams {
  id: string;
  url: URL;
}

interface Route {
  pattern: RegExp;
  methods: Partial<Record<Method, Handler>>;
}

const routes: Route[] = [
  { pattern: /^\/stats$/, methods: { GET: getStats } },
  { pattern: /^\/metrics$/, methods: { GET: getMetrics } },
  { pattern: /^\/backends$/, methods: { GET: listBackends, POST: addBackend } },
  { pattern: /^\/backends\/([^/]+)$/, methods: { GET: getBackend, PATCH: patchBackend, DELETE: deleteBackend } },
  { pattern: /^\/certificates$/, methods: { GET: listCertificates } },
  { pattern: /^\/reload$/, methods: { POST: reload } },
  { pattern: /^\/protection$/, methods: { GET: getProtection } },
];

/** The methods a path allows, HEAD with GET; undefined for an unknown path. */
function allowed(route: Route): string {
  const methods = Object.keys(route.methods);
  if (methods.includes('GET')) methods.splice(1, 0, 'HEAD');
  return methods.join(', ');
}

/**
 * Answers `req` if its path is an API route: 404 for an unknown path, 405 (with Allow)
 * for a method the path does not take. Every failure becomes a JSON error.
 */
export async function handleApiRequest(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  for (const route of routes) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    const method = req.method === 'HEAD' ? 'GET' : (req.method as Method);
    const handler = route.methods[method];
    if (!handler) {
      req.resume();
      throw new AdminHttpError(
        405,
        'method_not_allowed',
        `${req.method ?? '?'} is not allowed on ${url.pathname}; allowed: ${allowed(route)}`,
        {
          headers: { Allow: allowed(route) },
        },
      );
    }
    await handler(ctx, req, res, { id: match[1] ?? '', url });
    return;
  }
  req.resume();
  throw new AdminHttpError(
    404,
    'not_found',
    `no route ${url.pathname}; routes: /, /stats, /metrics, /backends, /backends/:id, /certificates, /protection, /reload`,
  );
}

/** An lb-native error (or anything else) as the HTTP error to answer with. */
export function toHttpError(error: unknown): AdminHttpError {
  if (error instanceof AdminHttpError) return error;
  if (error instanceof LbConfigError) {
    return new AdminHttpError(400, 'validation_failed', error.message, { issues: error.issues });
  }
  if (error instanceof LbResolveError) return new AdminHttpError(400, 'resolve_failed', error.message);
  if (error instanceof LbStateError) return new AdminHttpError(409, 'invalid_state', error.message);
  if (error instanceof LbError) return new AdminHttpError(500, error.code, error.message);
  return new AdminHttpError(500, 'internal_error', 'internal error; see the server log');
}

// ---- Handlers ------------------------------------------------------------------------

function runningStats(ctx: RouteContext) {
  try {
    return ctx.balancer.stats();
  } catch (error) {
    if (error instanceof LbStateError) throw new AdminHttpError(503, 'not_running', error.message);
    throw error;
  }
}

function getStats(ctx: RouteContext, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, runningStats(ctx));
}

function getProtection(ctx: RouteContext, _req: IncomingMessage, res: ServerResponse): void {
  const view = protectionView(ctx.balancer.config.protection, runningStats(ctx).protection);
  sendJson(res, 200, { ...view, clusterState: ctx.balancer.clusterLimitsStats() ?? null });
}

function getMetrics(ctx: RouteContext, _req: IncomingMessage, res: ServerResponse): void {
  const clusterLimits = ctx.balancer.clusterLimitsStats();
  const balancer = renderPrometheus(runningStats(ctx), {
    strategy: ctx.balancer.strategy,
    ...(clusterLimits ? { clusterLimits } : {}),
  });
  sendText(res, 200, prometheusContentType, balancer + certificateMetrics(ctx.certificates()));
}

function listCertificates(ctx: RouteContext, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, { certificates: ctx.certificates() });
}

function listBackends(ctx: RouteContext, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, {
    strategy: ctx.balancer.strategy,
    backends: ctx.balancer.backends(),
    removing: [...ctx.removing.values()],
  });
}

async function addBackend(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const spec = parseAddBackendBody(await readJsonBody(req));
  const status = await ctx.balancer.addBackend(spec);
  sendJson(res, 201, status, { Location: `/backends/${status.id}` });
}

/** The backend `:id` names: a numeric id, or an address as configured or as resolved. */
function findBackend(ctx: RouteContext, param: string): BackendStatus {
  let text: string;
  try {
    text = decodeURIComponent(param);
  } catch {
    throw new AdminHttpError(400, 'bad_request', `'${param}' is not a valid backend id or URL-encoded address`);
  }
  const backends = ctx.balancer.backends();
  const found = /^\d+$/.test(text)
    ? backends.find((b) => b.id === Number(text))
    : backends.find((b) => b.address === text || (b.host !== '' && formatAddress(b.host, b.port) === text));
  if (found) return found;
  const known = backends
    .slice(0, 10)
    .map((b) => `${b.id} (${b.address})`)
    .join(', ');
  throw new AdminHttpError(
    404,
    'backend_not_found',
    `no backend '${text}'; backends: ${known || 'none'}${backends.length > 10 ? ', ...' : ''}`,
  );
}

function getBackend(ctx: RouteContext, _req: IncomingMessage, res: ServerResponse, { id }: RouteParams): void {
  if (/^\d+$/.test(id)) {
    const removing = ctx.removing.get(Number(id));
    if (removing) {
      sendJson(res, 200, { ...removing, removing: true });
      return;
    }
  }
  sendJson(res, 200, findBackend(ctx, id));
}

async function patchBackend(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, { id }: RouteParams): Promise<void> {
  const patch = parseBackendPatch(await readJsonBody(req));
  const backend = findBackend(ctx, id);
  let status = backend;
  if (patch.weight !== undefined) status = ctx.balancer.setWeight(backend.id, patch.weight);
  if (patch.state !== undefined) status = ctx.balancer.setBackendState(backend.id, patch.state);
  if (patch.maxConnections !== undefined) status = ctx.balancer.setMaxConnections(backend.id, patch.maxConnections);
  sendJson(res, 200, status);
}

async function deleteBackend(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  { id, url }: RouteParams,
): Promise<void> {
  req.resume();
  const wait = ['1', 'true', 'yes'].includes(url.searchParams.get('wait') ?? '');
  const backend = findBackend(ctx, id);
  const done = ctx.balancer.removeBackend(backend.id);
  // A refusal (the only backend, an update the data path rejects) rejects at once; a
  // removal that has begun settles when the backend has drained.
  const early = await Promise.race([
    done.then(
      (status) => ({ settled: true as const, status }),
      (error: unknown) => {
        throw error instanceof LbConfigError && error.issues.some((i) => i.path === 'backend')
          ? new AdminHttpError(409, 'conflict', error.issues.map(formatIssue).join('\n'))
          : error;
      },
    ),
    new Promise<{ settled: false }>((resolve) => setImmediate(() => resolve({ settled: false }))),
  ]);
  if (!early.settled) {
    ctx.removing.set(backend.id, backend);
    done.then(
      () => ctx.removing.delete(backend.id),
      () => ctx.removing.delete(backend.id),
    );
  }
  if (wait) {
    const status = early.settled ? early.status : await done;
    sendJson(res, 200, { backend: status, removed: true });
  } else if (early.settled) {
    sendJson(res, 200, { backend: early.status, removed: true });
  } else {
    sendJson(res, 202, { backend, removing: true }, { Location: `/backends/${backend.id}` });
  }
}

async function reload(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.resume();
  const callback = ctx.reload;
  if (!callback) {
    throw new AdminHttpError(
      501,
      'not_implemented',
      'reload is not available: this balancer was not started from a configuration file',
    );
  }
  // One reload at a time: a second request waits for the first to finish, then runs.
  const previous = ctx.reloading ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => callback());
  ctx.reloading = run;
  let result: ReloadResult;
  try {
    result = await run;
  } finally {
    if (ctx.reloading === run) ctx.reloading = undefined;
  }
  if (result.ok) {
    sendJson(res, 200, result);
    return;
  }
  const errors = result.errors ?? [];
  throw new AdminHttpError(400, 'reload_failed', errors.length > 0 ? `reload failed:\n${errors.join('\n')}` : 'reload failed', {
    errors,
  });
}
