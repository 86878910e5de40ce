// The admin HTTP server: its own listener beside the balancer's, serving the JSON API
// (routes.ts), Prometheus metrics and the live dashboard.
//
// Security:
// - Bound to anything but loopback (127.0.0.0/8, ::1, localhost), it refuses to start
//   without `token`.
// - With a token, every API request needs `Authorization: Bearer <token>` (401 with
//   `WWW-Authenticate: Bearer` otherwise). The dashboard page itself is static and holds no
//   data, so it is served without one (a browser cannot send a header when it navigates);
//   it sends the token with each request it makes.
// - Without a token (loopback only), requests must name a loopback host in `Host`, so a
//   web page cannot reach the API through DNS rebinding.
// - A request whose `Origin` is not the admin server's own is refused (403): no
//   cross-origin page can drive the API, and request bodies must be application/json.
// - The token is never logged nor echoed in any message.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { AcmeCertificateStatus } from '../acme/acme-manager.js';
import { formatAddress } from '../config/address.js';
import { LbConfigError, LbListenError } from '../errors.js';
import { type BearerAuth, createBearerAuth } from './auth.js';
import { dashboardCsp, dashboardHtml } from './dashboard-page.js';
import { AdminHttpError, sendError, sendText } from './http-io.js';
import { isLoopbackHostHeader, resolveAdminListen } from './listen-address.js';
import { type AdminBalancer, type ReloadCallback, type RouteContext, handleApiRequest, toHttpError } from './routes.js';

export interface AdminServerOptions {
  /** `host:port` or `[ipv6]:port` to listen on; port 0 picks a free one. */
  listen: string;
  /** Bearer token every API request must carry; required unless `listen` is loopback. */
  token?: string;
  /** Reloads the configuration (POST /reload); without it, POST /reload answers 501. */
  reload?: ReloadCallback;
  /** The ACME certificates' status (GET /certificates, /metrics); without it, there are none. */
  certificates?: () => readonly AcmeCertificateStatus[];
  /**
   * Told about failures that are the server's, not the client's (answered 500), e.g. to
   * log them. Never given the token.
   */
  onError?: (error: unknown) => void;
}

export interface AdminServer {
  /** The numeric address the server listens on (no brackets). */
  readonly address: string;
  /** The port it listens on: the real one when `listen` said port 0. */
  readonly port: number;
  /** `http://host:port/`, brackets around IPv6. The dashboard is here. */
  readonly url: string;
  /** Stops listening and closes every connection, idle or not. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the admin server for `balancer` (which may or may not be running yet). Rejects
 * with LbConfigError (`admin.listen` invalid; `admin.token` missing for a non-loopback
 * address, or invalid), LbResolveError, or LbListenError (address in use, ...).
 */
export async function startAdminServer(balancer: AdminBalancer, options: AdminServerOptions): Promise<AdminServer> {
  const listen = await resolveAdminListen(options.listen);
  const auth = options.token === undefined ? undefined : createBearerAuth(options.token);
  if (!auth && !listen.loopback) {
    throw new LbConfigError([
      {
        path: 'admin.token',
        message: `required when admin.listen is not a loopback address (got ${listen.text}); set admin.token, or listen on 127.0.0.1`,
      },
    ]);
  }
  const ctx: RouteContext = {
    balancer,
    reload: options.reload,
    certificates: options.certificates ?? (() => []),
    removing: new Map(),
    reloading: undefined,
  };
  const server = createServer((req, res) => {
    handle(ctx, auth, req, res).catch((error: unknown) => {
      const httpError = toHttpError(error);
      if (httpError.status >= 500 && httpError.status !== 501 && httpError.status !== 503) options.onError?.(error);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, httpError);
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(LbListenError.from(listen.text, error)));
    server.listen({ host: listen.host, port: listen.port, exclusive: true }, () => resolve());
  });
  server.on('error', (error) => options.onError?.(error));
  const bound = server.address() as AddressInfo;
  return adminServer(server, bound.address, bound.port);
}

function adminServer(server: Server, address: string, port: number): AdminServer {
  let closing: Promise<void> | undefined;
  return {
    address,
    port,
    url: `http://${formatAddress(address, port)}/`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(ctx: RouteContext, auth: BearerAuth | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://admin.invalid');
  } catch {
    req.resume();
    throw new AdminHttpError(400, 'bad_request', 'invalid request target');
  }
  checkHostAndOrigin(req, auth);
  if (url.pathname === '/' || url.pathname === '/index.html') {
    serveDashboard(req, res);
    return;
  }
  if (auth) {
    const result = auth.check(req.headers.authorization);
    if (result !== 'ok') {
      req.resume();
      throw new AdminHttpError(
        401,
        'unauthorized',
        result === 'missing' ? 'this admin API needs Authorization: Bearer <token>' : 'invalid token',
        {
          headers: {
            'WWW-Authenticate':
              result === 'missing' ? 'Bearer realm="lb-native admin"' : 'Bearer realm="lb-native admin", error="invalid_token"',
          },
        },
      );
    }
  }
  await handleApiRequest(ctx, req, res, url);
}

/** Refuses DNS rebinding (no token: Host must be loopback) and cross-origin requests. */
function checkHostAndOrigin(req: IncomingMessage, auth: BearerAuth | undefined): void {
  const host = req.headers.host;
  if (!auth && !isLoopbackHostHeader(host)) {
    req.resume();
    throw new AdminHttpError(
      403,
      'forbidden_host',
      `Host '${host ?? ''}' is not a loopback name; without a token only localhost, 127.x.x.x and [::1] are served`,
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || host === undefined || originHost.toLowerCase() !== host.toLowerCase()) {
      req.resume();
      throw new AdminHttpError(403, 'forbidden_origin', `cross-origin requests are not allowed (Origin: ${origin})`);
    }
  }
}

function serveDashboard(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new AdminHttpError(405, 'method_not_allowed', `${req.method ?? '?'} is not allowed on /; allowed: GET, HEAD`, {
      headers: { Allow: 'GET, HEAD' },
    });
  }
  sendText(res, 200, 'text/html; charset=utf-8', dashboardHtml, {
    'Content-Security-Policy': dashboardCsp,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
  });
}
