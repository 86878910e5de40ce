// TLS towards one backend: `tls: true` or `tls: { verify?, ca?, sni? }`. Verification is
// on unless switched off: the certificate chain must lead to `ca` (a PEM file) or, without
// it, to the system's CA store, and the certificate must name `sni` (default: the backend's
// host name; for an address given as an IP, its IP address). The CA file is read here, so
// a file that cannot be read or holds no certificate is a config error naming
// `backends[i].tls.ca`; a reload reads it again.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

import { z } from 'zod';

/** One backend's `tls` option as given. */
export interface BackendTlsOptions {
  /** Check the backend's certificate chain and name (true). */
  verify?: boolean;
  /** A PEM file of the CA certificates the backend's chain must lead to; absent: the system's store. */
  ca?: string;
  /** The name sent as SNI and checked in the certificate; absent: the backend's host name (none for an IP). */
  sni?: string;
}

/** Validated: `caPem` holds the CA file's contents when `ca` is given. */
export interface BackendTlsConfig {
  verify: boolean;
  ca?: string;
  caPem?: string;
  sni?: string;
}

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;
/** A DNS name as SNI carries it: labels of letters, digits and '-', dot-separated. */
const dnsName = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

const describe = (value: unknown): string =>
  value === undefined ? 'nothing' : typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));

const objectSchema = z.strictObject(
  {
    verify: z.boolean({ error: (issue) => `expected true or false, got ${describe(issue.input)}` }).default(true),
    ca: z
      .string({ error: (issue) => `expected the path of a PEM file of CA certificates, got ${describe(issue.input)}` })
      .min(1, { error: 'expected the path of a PEM file of CA certificates, got an empty string' })
      .optional(),
    sni: z
      .string({ error: (issue) => `expected a host name or an IP address, got ${describe(issue.input)}` })
      .refine((name) => dnsName.test(name) || isIP(name) !== 0, {
        error: (issue) => `expected a host name or an IP address, got ${describe(issue.input)}`,
      })
      .optional(),
  },
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `unknown option ${issue.keys.map((k) => `'${k}'`).join(', ')}; expected one of verify, ca, sni`;
      }
      return `expected true or { verify?, ca?, sni? }, got ${describe(issue.input)}`;
    },
  },
);

export const backendTlsSchema = z
  .preprocess((value) => (value === true ? {} : value), objectSchema)
  .transform((tls, ctx): BackendTlsConfig => {
    const out: BackendTlsConfig = { verify: tls.verify };
    if (tls.sni !== undefined) out.sni = tls.sni;
    if (tls.ca !== undefined) {
      out.ca = tls.ca;
      let pem: string;
      try {
        pem = readFileSync(tls.ca, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? String(error);
        ctx.issues.push({ code: 'custom', path: ['ca'], message: `${tls.ca}: cannot be read (${code})`, input: tls.ca });
        return z.NEVER;
      }
      if (!certificateBlock.test(pem)) {
        ctx.issues.push({
          code: 'custom',
          path: ['ca'],
          message: `${tls.ca}: expected PEM CA certificates (-----BEGIN CERTIFICATE-----), found none`,
          input: tls.ca,
        });
        return z.NEVER;
      }
      out.caPem = pem;
    }
    return out;
  });

/**
 * How to reach a TLS backend, for the data path and the health checks alike: whether to
 * verify, the CA PEM, and the name its certificate is checked against (and, when a DNS
 * name, sent as SNI): `sni`, else the host as configured (a name, or an IP address).
 */
export function backendTlsPeer(
  tls: BackendTlsConfig,
  configuredHost: string,
): { verify: boolean; ca?: string; serverName: string } {
  return { verify: tls.verify, serverName: tls.sni ?? configuredHost, ...(tls.caPem === undefined ? {} : { ca: tls.caPem }) };
}
