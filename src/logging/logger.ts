// Structured logs (pino) for lifecycle events (listening, backend changes, reloads, errors,
// stop) and, when sampled, access logs: one JSON object per line, or one readable line on a
// terminal (log-output.ts):
//
//   {"level":"info","time":"2025-01-01T12:00:00.000Z","pid":4242,"msg":"backend-down","backend":"10.0.0.5:8080","reason":"status 503 (expected 200-399)"}
//   12:00:00.000 WARN  backend-down backend=10.0.0.5:8080 reason="status 503 (expected 200-399)"
//
// `msg` is the event's name. Secrets never reach a line: configurations are logged
// through redactConfig (config/redact.ts), and pino's redaction covers the known paths
// as a second guard.
import { pino } from 'pino';

import type { Balancer } from '../balancer.js';
import { formatAddress } from '../config/address.js';
import { secretPaths } from '../config/redact.js';
import type { LogLevel } from '../config/log-levels.js';

export type Logger = pino.Logger;

export interface LoggerOptions {
  level: LogLevel;
  /** File descriptor, stream or LogOutput to write JSON lines to. Default 1 (stdout), written synchronously. */
  destination?: number | NodeJS.WritableStream | pino.DestinationStream;
}

/** A pino logger writing JSON lines, `level` as a label ("info"), ISO times. */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.destination === undefined || typeof options.destination === 'number'
      ? pino.destination({ dest: options.destination ?? 1, sync: true })
      : options.destination;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: secretPaths.flatMap((path) => [path, `config.${path}`]), censor: '[redacted]' },
    },
    destination,
  );
}

/** Round to microseconds: access-log times. */
function ms(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The 'listening' line: where `lb` accepts connections (the first listener, and every
 * listener when there are several), and how it balances.
 */
export function logListening(lb: Balancer, log: Logger, address = lb.address, port = lb.port): void {
  const { mode } = lb.config;
  const where = formatAddress(address, port);
  const listeners = lb.state === 'running' && lb.config.listeners.length > 1 ? lb.listeners : undefined;
  log.info(
    {
      address: where,
      port,
      url: mode === 'tcp' ? undefined : `${lb.config.listeners[0]?.tls ? 'https' : 'http'}://${where}/`,
      listeners: listeners?.map((l) => (mode === 'tcp' ? formatAddress(l.address, l.port) : l.url)),
      mode,
      strategy: lb.strategy,
      backends: lb.backends().length,
      workers: lb.state === 'running' ? lb.stats().workers : undefined,
    },
    'listening',
  );
}

export interface BalancerLogOptions {
  /**
   * Leave out the 'listening' line of the start: the caller logs it (logListening) once
   * everything else that had to start (the admin server) is up too. Later ones (a reload
   * moving the listener) are logged.
   */
  announceStart?: boolean;
}

/**
 * Logs `lb`'s events: listening, backend-up/down/ejected/recovered/drained/removed,
 * errors, and access records (each sampled request, when the sample rate is above 0).
 * Returns a function that stops logging them.
 */
export function logBalancerEvents(lb: Balancer, log: Logger, options: BalancerLogOptions = {}): () => void {
  const listeners: Array<() => void> = [];
  const on: Balancer['on'] = (event, listener) => {
    lb.on(event, listener);
    listeners.push(() => lb.off(event, listener));
    return lb;
  };
  let skipListening = options.announceStart === false;
  on('listening', ({ address, port }) => {
    if (skipListening) {
      skipListening = false;
      return;
    }
    logListening(lb, log, address, port);
  });
  on('backend-up', ({ backend }) => log.info({ backend: backend.address, id: backend.id }, 'backend-up'));
  on('backend-down', ({ backend, reason }) => log.warn({ backend: backend.address, id: backend.id, reason }, 'backend-down'));
  on('backend-ejected', ({ backend, worker, reason, ejectionMs }) =>
    log.warn({ backend: backend.address, id: backend.id, worker, reason, ejectionMs }, 'backend-ejected'),
  );
  on('backend-recovered', ({ backend, worker, reason }) =>
    log.info({ backend: backend.address, id: backend.id, worker, reason }, 'backend-recovered'),
  );
  on('backend-error', ({ backend, worker, code, message }) =>
    log.warn({ backend: backend.address, id: backend.id, worker, code, error: message }, 'backend-error'),
  );
  on('panic-routing', ({ backend, worker, message }) =>
    log.warn({ backend: backend.address, id: backend.id, worker, message }, 'panic-routing'),
  );
  on('backend-drained', ({ backend, state }) => log.info({ backend: backend.address, id: backend.id, state }, 'backend-drained'));
  on('backend-removed', ({ backend }) => log.info({ backend: backend.address, id: backend.id }, 'backend-removed'));
  on('cluster-limits-degraded', ({ reason }) => log.warn({ reason }, 'cluster-limits-degraded'));
  on('cluster-limits-restored', () => log.info({}, 'cluster-limits-restored'));
  on('error', (error) => log.error({ code: error.code, error: error.message }, 'error'));
  on('access', (event) =>
    log.info(
      {
        client: event.client,
        method: event.method,
        target: event.target,
        status: event.status,
        backend: event.backend?.address ?? null,
        ttfbMs: ms(event.ttfbMs),
        totalMs: ms(event.totalMs),
        bytes: event.bytes,
        worker: event.worker,
      },
      'access',
    ),
  );
  return () => {
    for (const off of listeners.splice(0)) off();
  };
}
