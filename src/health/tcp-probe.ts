// A TCP health check: the backend accepts a connection. The connection is closed at once.
import type { ProbeResult, ProbeTarget } from './probe-target.js';
import { openProbe } from './socket-probe.js';

export function probeTcp(target: ProbeTarget): Promise<ProbeResult> {
  return openProbe(target, (probe) => probe.finish({ ok: true, reason: 'connected' }));
}
