// One health check against one backend: what it is given and what it tells.
import type { HealthCheckConfig } from '../config/schema.js';
import type { StatusRanges } from './expect-status.js';
import { probeHttp } from './http-probe.js';
import { probeTcp } from './tcp-probe.js';

/** Where and how to check a backend. */
export interface ProbeTarget {
  /** Numeric address, without brackets. */
  host: string;
  port: number;
  /** A check not done within this fails. */
  timeoutMs: number;
  /** Aborting destroys the check's socket at once (the result is then a failure). */
  signal?: AbortSignal;
}

export interface HttpProbeTarget extends ProbeTarget {
  /** Path (and query) to GET. */
  path: string;
  /** The Host header. */
  hostHeader: string;
  /** Statuses that pass. */
  expect: StatusRanges;
}

/** The outcome of one check; `reason` says why it failed (or what passed). */
export interface ProbeResult {
  ok: boolean;
  reason: string;
}

/** Runs the check `check` describes against `target`. Never rejects. */
export function runProbe(
  check: HealthCheckConfig,
  expect: StatusRanges,
  target: ProbeTarget & { hostHeader: string },
): Promise<ProbeResult> {
  if (check.type === 'tcp') return probeTcp(target);
  return probeHttp({ ...target, path: check.path, hostHeader: check.host ?? target.hostHeader, expect });
}
