// Runs the active health checks of one balancer run, on the JavaScript thread: one timer
// per checked backend, one check at a time per backend (the next starts `intervalMs`
// after the previous one ended), rise/fall hysteresis, and a callback on every
// transition, and one on every pass of a healthy backend (a passing check ends a passive
// ejection in the data path). The data path is never involved: the caller pushes the
// results to it.
import type { HealthCheckConfig } from '../config/schema.js';
import { type StatusRanges, parseExpectStatus } from '../config/expect-status.js';
import { runProbe } from './probe.js';
import type { ProbeTls } from './probe-target.js';
import { RiseFall } from './rise-fall.js';

/** A backend to check. */
export interface HealthTarget {
  id: number;
  /** Numeric address, without brackets. */
  host: string;
  port: number;
  /** The Host header of http checks unless the check sets one: the address as configured. */
  hostHeader: string;
  check: HealthCheckConfig;
  /** A TLS backend: checks speak TLS, verified as the data path verifies it. */
  tls?: ProbeTls;
}

/** A backend's health changed: after `fall` failures (healthy false) or `rise` passes (true). */
export interface HealthChange {
  id: number;
  healthy: boolean;
  /** The last check's result, e.g. `status 503 (expected 200-399)` or `status 200`. */
  reason: string;
}

interface Watched {
  target: HealthTarget;
  expect: StatusRanges;
  state: RiseFall;
  timer: NodeJS.Timeout | undefined;
  /** Aborts the check in progress, if any. */
  abort: AbortController | undefined;
  stopped: boolean;
}

export class HealthChecker {
  readonly #watched = new Map<number, Watched>();
  readonly #onChange: (change: HealthChange) => void;
  readonly #onPass: (id: number) => void;

  /**
   * `onChange` is called on every transition; `onPass` after every passing check of a
   * backend that is healthy (rise reached), including the one that made it so.
   */
  constructor(onChange: (change: HealthChange) => void, onPass: (id: number) => void = () => undefined) {
    this.#onChange = onChange;
    this.#onPass = onPass;
  }

  /**
   * Starts checking `target`; the first check runs at once. A backend starts healthy
   * (it takes traffic until `fall` checks in a row fail). Replaces an earlier watch of the
   * same id.
   */
  watch(target: HealthTarget): void {
    this.unwatch(target.id);
    const parsed = parseExpectStatus(target.check.expectStatus);
    const watched: Watched = {
      target,
      // The schema validated it; a failure here would be a bug, and passes nothing.
      expect: parsed.ok ? parsed.ranges : [],
      state: new RiseFall(target.check.rise, target.check.fall),
      timer: undefined,
      abort: undefined,
      stopped: false,
    };
    this.#watched.set(target.id, watched);
    this.#schedule(watched, 0);
  }

  /** Stops checking a backend; a check in progress is cancelled and reports nothing. */
  unwatch(id: number): void {
    const watched = this.#watched.get(id);
    if (!watched) return;
    this.#watched.delete(id);
    watched.stopped = true;
    clearTimeout(watched.timer);
    watched.abort?.abort();
  }

  /** Whether `id` is checked, and if so whether it is healthy now. */
  healthy(id: number): boolean | undefined {
    return this.#watched.get(id)?.state.healthy;
  }

  /** Stops every check. */
  stop(): void {
    for (const id of [...this.#watched.keys()]) this.unwatch(id);
  }

  #schedule(watched: Watched, delayMs: number): void {
    // Unref'd: a running balancer keeps the process alive anyway, and stop() clears it.
    watched.timer = setTimeout(() => void this.#runCheck(watched), delayMs);
    watched.timer.unref();
  }

  async #runCheck(watched: Watched): Promise<void> {
    watched.timer = undefined;
    const abort = new AbortController();
    watched.abort = abort;
    const { target } = watched;
    const result = await runProbe(target.check, watched.expect, {
      host: target.host,
      port: target.port,
      timeoutMs: target.check.timeoutMs,
      hostHeader: target.hostHeader,
      signal: abort.signal,
      ...(target.tls ? { tls: target.tls } : {}),
    });
    watched.abort = undefined;
    if (watched.stopped) return;
    const transition = watched.state.record(result.ok);
    // Schedule first: a listener that throws must not stop this backend's checks.
    this.#schedule(watched, target.check.intervalMs);
    if (transition) this.#onChange({ id: target.id, healthy: transition === 'up', reason: result.reason });
    if (result.ok && watched.state.healthy) this.#onPass(target.id);
  }
}
