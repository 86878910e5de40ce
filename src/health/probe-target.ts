// What one health check is given and what it tells. Its own file so that the probes
// (socket-probe.ts, http-probe.ts, tcp-probe.ts) and the dispatcher that picks one
// (probe.ts) all import it and none imports the other back.
import type { StatusRanges } from '../config/expect-status.js';

/** Where and how to check a backend. */
export interface ProbeTarget {
  /** Numeric address, without brackets. */
  host: string;
  port: number;
  /** A check not done within this fails. */
  timeoutMs: number;
  /** Aborting destroys the check's socket at once (the result is then a failure). */
  signal?: AbortSignal;
  /** A TLS backend: the check speaks TLS with the backend's own verify settings. */
  tls?: ProbeTls;
}

/** How a check verifies a TLS backend: as the data path does (see backends[].tls). */
export interface ProbeTls {
  verify: boolean;
  /** PEM CA certificates; absent: Node's default CAs (plus NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /** The name checked in the certificate, and sent as SNI when it is a DNS name. */
  serverName: string;
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
