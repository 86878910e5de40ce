// How lb-native uses acme-client's one HTTP client (an axios instance per process):
// - No retries inside acme-client: it would retry a refused connection five times over
//   75 s before an order fails. The manager's backoff (renewal-schedule.ts) is the one
//   retry policy, and a failed attempt is reported at once.
// - Extra CAs for a private ACME server's HTTPS certificate (step-ca; pebble in the
//   tests) go into that client's HTTPS agent, beside Node's own roots: process-wide for
//   ACME requests, and only ever added.
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';

import * as acme from 'acme-client';

interface AcmeSettings {
  retryMaxAttempts: number;
  retryDefaultDelay: number;
}

const extraCas = new Set<string>();
let configured = false;

/** Applies the retry policy above (once per process). */
export function configureAcmeClient(): void {
  if (configured) return;
  configured = true;
  const defaults = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings?: AcmeSettings };
  if (defaults.acmeSettings) defaults.acmeSettings.retryMaxAttempts = 0;
}

/** Adds `caPem` (one or more PEM certificates) to what acme-client trusts. */
export function trustDirectoryCa(caPem: string): void {
  if (extraCas.has(caPem)) return;
  extraCas.add(caPem);
  // No keep-alive: an ACME exchange is a handful of requests every few weeks, and idle
  // sockets would outlive the order.
  acme.axios.defaults.httpsAgent = new Agent({ keepAlive: false, ca: [...rootCertificates, ...extraCas] });
}
