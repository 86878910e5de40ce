// Loading acme-client, and how lb-native uses its one HTTP client (an axios instance per
// process). Loaded on first use, not at import: `import 'lb-native'` does not pay for
// axios, node-forge and the X.509 libraries unless ACME runs.
// - No retries inside acme-client: it would retry a refused connection five times over
//   75 s before an order fails. The manager's backoff (renewal-schedule.ts) is the one
//   retry policy, and a failed attempt is reported at once.
// - Extra CAs for a private ACME server's HTTPS certificate (step-ca; pebble in the
//   tests) go into that client's HTTPS agent, beside Node's own roots: process-wide for
//   ACME requests, and only ever added.
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';

export type AcmeClientModule = typeof import('acme-client');

interface AcmeSettings {
  retryMaxAttempts: number;
}

const extraCas = new Set<string>();
let loaded: Promise<AcmeClientModule> | undefined;

function applyTrust(acme: AcmeClientModule): void {
  if (extraCas.size === 0) return;
  // No keep-alive: an ACME exchange is a handful of requests every few weeks, and idle
  // sockets would outlive the order.
  acme.axios.defaults.httpsAgent = new Agent({ keepAlive: false, ca: [...rootCertificates, ...extraCas] });
}

/** acme-client, configured as above. */
export function loadAcmeClient(): Promise<AcmeClientModule> {
  loaded ??= import('acme-client').then((acme) => {
    const defaults = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings?: AcmeSettings };
    if (defaults.acmeSettings) defaults.acmeSettings.retryMaxAttempts = 0;
    applyTrust(acme);
    return acme;
  });
  return loaded;
}

/** Adds `caPem` (one or more PEM certificates) to what acme-client trusts. */
export function trustDirectoryCa(caPem: string): void {
  if (extraCas.has(caPem)) return;
  extraCas.add(caPem);
  if (loaded) void loaded.then(applyTrust);
}
