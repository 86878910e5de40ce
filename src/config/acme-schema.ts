// The schema of `tls.acme` in a configuration file: automatic certificates from an ACME
// server (docs/acme.md). Messages name the path and what was expected, as schema.ts's do.
// What cannot be checked by looking at the values (the storage folder is writable) is
// checked by src/acme/acme-checks.ts, for `lb-native validate` and before ordering.
import { z } from 'zod';

import { etcdEndpointsSchema, etcdTlsSchema } from './etcd-schema.js';
import { type ListenerForm, describeValue, integer, listenerPrefix, oneOf, strictObject } from './schema.js';

// A DNS name as a certificate may carry it: letters, digits and hyphens in labels of at
// most 63, at least two labels, 253 characters in all; a leading `*.` for a wildcard
// (HTTP-01 cannot prove a wildcard, so those are refused below with a reason).
const label = '(?!-)[a-z0-9-]{1,63}(?<!-)';
const dnsName = new RegExp(`^${label}(\\.${label})+$`);

function domainProblem(name: string): string | undefined {
  if (name.startsWith('*.')) return 'wildcard names need the DNS-01 challenge, which lb-native does not answer';
  if (name.length > 253 || !dnsName.test(name)) return 'expected a DNS name like www.example.com';
  if (/^[0-9.]+$/.test(name)) return 'expected a DNS name, not an IP address';
  return undefined;
}

const domainSchema = z
  .string({ error: (issue) => `expected a DNS name like www.example.com, got ${describeValue(issue.input)}` })
  .transform((name) => name.toLowerCase().replace(/\.$/, ''))
  .superRefine((name, ctx) => {
    const problem = domainProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, got ${JSON.stringify(name)}` });
  });

const directorySchema = z
  .string({ error: (issue) => `expected the ACME directory URL (https://...), got ${describeValue(issue.input)}` })
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected the ACME directory URL (https://...), got ${JSON.stringify(value)}` });
      return;
    }
    // RFC 8555 section 6.1: ACME runs over HTTPS only.
    if (url.protocol !== 'https:') {
      ctx.addIssue({
        code: 'custom',
        message: `expected an https:// URL (ACME runs over HTTPS only), got ${JSON.stringify(value)}`,
      });
    }
  });

const emailSchema = z
  .string({ error: (issue) => `expected an e-mail address, got ${describeValue(issue.input)}` })
  .refine((value) => /^[^\s@:]+@[^\s@:]+\.[^\s@:]+$/.test(value), {
    error: (issue) => `expected an e-mail address like ops@example.com, got ${describeValue(issue.input)}`,
  });

const storageSchema = z
  .string({ error: (issue) => `expected the path of a folder for keys and certificates, got ${describeValue(issue.input)}` })
  .min(1, { error: 'expected the path of a folder for keys and certificates, got an empty string' });

/** The etcd prefix of a cluster that gives none. */
export const defaultAcmeClusterPrefix = '/lb-native/acme';

/**
 * `tls.acme.cluster`: balancers that share one certificate through etcd (docs/acme.md,
 * "Cluster mode"). The key file's contents (32 bytes, mode 0600) are checked by
 * src/acme/acme-checks.ts, which needs the machine.
 */
export const acmeClusterSchema = strictObject(
  {
    etcd: strictObject(
      {
        endpoints: etcdEndpointsSchema,
        prefix: z
          .string({ error: (issue) => `expected a key prefix like /lb-native/acme, got ${describeValue(issue.input)}` })
          .regex(/^[^\s]+$/, {
            error: (issue) => `expected a key prefix like /lb-native/acme, got ${describeValue(issue.input)}`,
          })
          .transform((prefix) => prefix.replace(/\/+$/, ''))
          .refine((prefix) => prefix.length > 0, { error: 'expected a key prefix like /lb-native/acme, got only slashes' })
          .default(defaultAcmeClusterPrefix),
        tls: etcdTlsSchema.optional(),
        timeoutMs: integer({ min: 100, max: 600_000 }).optional(),
        /** How long the orderer's lease outlives it: the longest a dead orderer blocks the others. */
        leaseTtlSeconds: integer({ min: 2, max: 600 }).default(10),
      },
      'an object { endpoints, prefix?, tls?, timeoutMs?, leaseTtlSeconds? }',
    ),
    keyFile: z
      .string({
        error: (issue) => `expected the path of the cluster key file (32 bytes, mode 0600), got ${describeValue(issue.input)}`,
      })
      .min(1, { error: 'expected the path of the cluster key file (32 bytes, mode 0600), got an empty string' }),
  },
  'an object { etcd: { endpoints, prefix? }, keyFile }',
);

export type AcmeClusterConfig = z.output<typeof acmeClusterSchema>;

/** Let's Encrypt's production directory, the default. */
export const defaultAcmeDirectory = 'https://acme-v02.api.letsencrypt.org/directory';

/**
 * How the ACME server is to check that the balancer holds the names: HTTP-01 on a plain
 * listener (port 80), or TLS-ALPN-01 (RFC 8737) on a TLS listener that names acme (port
 * 443). One type, not a preference list: ACME servers offer every type for a name, so
 * only the first of a list would ever be tried, and a failed check is not retried with
 * another type.
 */
export const acmeChallengeTypes = ['http-01', 'tls-alpn-01'] as const;
export type AcmeChallengeType = (typeof acmeChallengeTypes)[number];

/** `tls.acme`. */
export const acmeSchema = strictObject(
  {
    email: emailSchema,
    directory: directorySchema.default(defaultAcmeDirectory),
    domains: z
      .array(domainSchema, { error: (issue) => `expected a list of DNS names, got ${describeValue(issue.input)}` })
      .min(1, { error: 'expected at least one DNS name' })
      .max(100, { error: 'at most 100 names fit one certificate' }),
    storage: storageSchema,
    challenge: oneOf(acmeChallengeTypes).default('http-01'),
    cluster: acmeClusterSchema.optional(),
  },
  'an object { email, directory?, domains, storage, challenge?, cluster? }',
).superRefine((acme, ctx) => {
  const seen = new Set<string>();
  acme.domains.forEach((name, index) => {
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['domains', index], message: `${name} is listed twice` });
    seen.add(name);
  });
  // Cluster balancers share HTTP-01 tokens through etcd; TLS-ALPN-01 answers are
  // certificates made per order, not shared yet.
  if (acme.cluster && acme.challenge === 'tls-alpn-01') {
    ctx.addIssue({
      code: 'custom',
      path: ['challenge'],
      message:
        "expected 'http-01' with tls.acme.cluster (TLS-ALPN-01 answers are not shared between balancers), got 'tls-alpn-01'",
    });
  }
});

export type AcmeConfig = z.output<typeof acmeSchema>;

/**
 * The option path the ACME section is written at, for messages with a line number:
 * `listeners[i].tls.acme` on the first listener that names it (the listeners form),
 * else `tls.acme` (the one-listener form).
 */
export function acmeSectionPath(config: {
  listenerForm: ListenerForm;
  listeners: ReadonlyArray<{ tls?: { acmeCertificate?: boolean | undefined } | undefined }>;
}): string {
  if (config.listenerForm === 'single') return 'tls.acme';
  const index = config.listeners.findIndex((listener) => listener.tls?.acmeCertificate);
  return index < 0 ? 'tls.acme' : `${listenerPrefix(config, index)}tls.acme`;
}
