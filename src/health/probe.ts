// One health check against one backend: picks the probe its configuration names.
import type { HealthCheckConfig } from '../config/schema.js';
import type { StatusRanges } from '../config/expect-status.js';
import { probeHttp } from './http-probe.js';
import type { ProbeResult, ProbeTarget } from './probe-target.js';
import { probeTcp } from './tcp-probe.js';

/** Runs the check `check` describes against `target`. Never rejects. */
export function runProbe(
  check: HealthCheckConfig,
  expect: StatusRanges,
  target: ProbeTarget & { hostHeader: string },
): Promise<ProbeResult> {
  if (check.type === 'tcp') return probeTcp(target);
  return probeHttp({ ...target, path: check.path, hostHeader: check.host ?? target.hostHeader, expect });
}
