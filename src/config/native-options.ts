// The scalar options that cross to the data path, one row each: the path in NativeConfig,
// the range (from `bounds`, defaults.ts) and the default. The schema (schema.ts) takes
// each of these fields' range and default from its row here. The addon keeps the same
// table (native/addon/config_table.cpp) and exports it as configTable();
// test/config/native-options.test.ts fails when the two disagree, and checks that the
// schema enforces each range and fills each default.
import { bounds, defaults } from './defaults.js';

interface Range {
  readonly min: number;
  readonly max: number;
}

export interface NativeOption {
  /** Path in NativeConfig; `backends[].weight` is a field of each backend. */
  readonly path: string;
  readonly min: number;
  readonly max: number;
  /** False: any finite number in range. */
  readonly integer: boolean;
  /** The default the schema fills in; absent where there is none (workers: the CPU count). */
  readonly default?: number;
}

function row(path: string, range: Range, fallback?: number, integer = true): NativeOption {
  return { path, min: range.min, max: range.max, integer, ...(fallback === undefined ? {} : { default: fallback }) };
}

const t = defaults.timeouts;
const l = defaults.limits;
const p = defaults.pool;
const bd = defaults.bodies;
const o = defaults.outlierDetection;
const r = defaults.retries;
const h2 = defaults.http2Limits;

export const nativeOptions: readonly NativeOption[] = [
  row('backlog', bounds.backlog, defaults.backlog),
  row('workers', bounds.workers),
  row('backends[].weight', bounds.weight, defaults.weight),
  row('timeouts.connectMs', bounds.timeoutMs, t.connectMs),
  row('timeouts.responseMs', bounds.timeoutMs, t.responseMs),
  row('timeouts.clientHeadMs', bounds.timeoutMs, t.clientHeadMs),
  row('timeouts.keepAliveMs', bounds.timeoutMs, t.keepAliveMs),
  row('timeouts.backendIdleMs', bounds.timeoutMs, t.backendIdleMs),
  row('timeouts.clientBodyMs', bounds.timeoutMs, t.clientBodyMs),
  row('timeouts.clientBodyTotalMs', bounds.optionalMs, t.clientBodyTotalMs),
  row('timeouts.tunnelIdleMs', bounds.timeoutMs, t.tunnelIdleMs),
  row('limits.maxStartLine', bounds.maxStartLine, l.maxStartLine),
  row('limits.maxHeadBytes', bounds.maxHeadBytes, l.maxHeadBytes),
  row('limits.maxHeaderCount', bounds.maxHeaderCount, l.maxHeaderCount),
  row('limits.maxBodyBytes', bounds.maxBodyBytes, l.maxBodyBytes),
  row('limits.maxClientConnections', bounds.maxClientConnections, l.maxClientConnections),
  row('pool.maxIdlePerBackend', bounds.maxIdlePerBackend, p.maxIdlePerBackend),
  row('pool.surplusIdleMs', bounds.surplusIdleMs, p.surplusIdleMs),
  row('pool.tcpKeepAliveIdleSec', bounds.tcpKeepAliveIdleSec, p.tcpKeepAliveIdleSec),
  row('pool.tcpKeepAliveIntervalSec', bounds.tcpKeepAliveIntervalSec, p.tcpKeepAliveIntervalSec),
  row('pool.tcpKeepAliveCount', bounds.tcpKeepAliveCount, p.tcpKeepAliveCount),
  row('bodies.spliceMinBytes', bounds.spliceMinBytes, bd.spliceMinBytes),
  row('bodies.maxPipes', bounds.maxPipes, bd.maxPipes),
  row('outlierDetection.consecutiveFailures', bounds.consecutiveFailures, o.consecutiveFailures),
  row('outlierDetection.baseEjectionMs', bounds.timeoutMs, o.baseEjectionMs),
  row('outlierDetection.maxEjectionPercent', bounds.maxEjectionPercent, o.maxEjectionPercent),
  row('outlierDetection.slowStartMs', bounds.optionalMs, o.slowStartMs),
  row('retries.maxTries', bounds.maxTries, r.maxTries),
  row('retries.budgetPercent', bounds.budgetPercent, r.budgetPercent),
  row('retries.minPerSecond', bounds.minPerSecond, r.minPerSecond),
  row('accessLogSampleRate', bounds.sampleRate, defaults.accessLogSampleRate, false),
  row('protection.maxConnectionsPerClient', bounds.maxConnectionsPerClient, defaults.protection.maxConnectionsPerClient),
  row('protection.rateLimitKeys', bounds.rateLimitKeys, defaults.protection.rateLimitKeys),
  // No default in the schema: absent is no limit (0 on the native side).
  row('backends[].maxConnections', bounds.maxConnections),
  row('queue.maxPending', bounds.queueMaxPending, defaults.queue.maxPending),
  row('queue.timeoutMs', bounds.timeoutMs, defaults.queue.timeoutMs),
  row('http2Limits.maxConcurrentStreams', bounds.h2ConcurrentStreams, h2.maxConcurrentStreams),
  row('http2Limits.maxHeaderListBytes', bounds.h2HeaderListBytes, h2.maxHeaderListBytes),
  row('http2Limits.maxHeaderFields', bounds.maxHeaderCount, h2.maxHeaderFields),
  row('http2Limits.maxHeaderBlockBytes', bounds.h2HeaderBlockBytes, h2.maxHeaderBlockBytes),
  row('http2Limits.maxContinuationFrames', bounds.h2ContinuationFrames, h2.maxContinuationFrames),
  row('http2Limits.stallTimeoutMs', bounds.optionalMs, h2.stallTimeoutMs),
  row('http2Limits.streamResetBurst', bounds.h2Burst, h2.streamResetBurst),
  row('http2Limits.streamResetsPerSecond', bounds.h2PerSecond, h2.streamResetsPerSecond),
  row('http2Limits.settingsBurst', bounds.h2Burst, h2.settingsBurst),
  row('http2Limits.settingsPerSecond', bounds.h2PerSecond, h2.settingsPerSecond),
  row('http2Limits.pingBurst', bounds.h2Burst, h2.pingBurst),
  row('http2Limits.pingsPerSecond', bounds.h2PerSecond, h2.pingsPerSecond),
  row('http2Limits.priorityBurst', bounds.h2Burst, h2.priorityBurst),
  row('http2Limits.prioritiesPerSecond', bounds.h2PerSecond, h2.prioritiesPerSecond),
  row('http2Limits.emptyDataBurst', bounds.h2Burst, h2.emptyDataBurst),
  row('http2Limits.emptyDataPerSecond', bounds.h2PerSecond, h2.emptyDataPerSecond),
  row('http2Limits.windowUpdateBurst', bounds.h2Burst, h2.windowUpdateBurst),
  row('http2Limits.windowUpdatesPerSecond', bounds.h2PerSecond, h2.windowUpdatesPerSecond),
];

/** The row of `path`. Throws for a path the table does not have (the schema asks at load). */
export function nativeOption(path: string): NativeOption {
  const row = nativeOptions.find((r) => r.path === path);
  if (!row) throw new Error(`no native option ${path}`);
  return row;
}
