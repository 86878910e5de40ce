// The schema of a configuration file (`lb-native start --config lb.yaml`): every option
// `createBalancer` takes (schema.ts), plus sections only a file has: `admin`, `logging`
// and `discovery`. `backends` may be left out when a discovery section supplies them.
// Messages name the path and what was expected, as schema.ts's do; values of secrets
// (admin.token, discovery.etcd.auth) are never shown in them.
import { isIP } from 'node:net';

import { z } from 'zod';

import { type AcmeConfig, acmeSchema } from './acme-schema.js';
import { etcdEndpointsSchema, etcdTlsSchema } from './etcd-schema.js';
import { logFormats } from './log-formats.js';
import { logLevels } from './log-levels.js';
import { isLoopback, parseAddress } from './address.js';
import { bounds } from './defaults.js';
import {
  backendsSchema,
  describeValue,
  finishOptions,
  integer,
  type HttpsRedirectConfig,
  type ListenAddress,
  type ListenerConfig,
  type ListenerTlsConfig,
  listenerTlsShape,
  listenersSchema,
  oneOf,
  optionsShape,
  refineOptions,
  sampleRateSchema,
  strictObject,
} from './schema.js';

/** A string whose value must never appear in a message (tokens, passwords). */
function secretString(what: string) {
  const error = (issue: { input?: unknown }) =>
    `expected ${what}, got ${typeof issue.input === 'string' ? 'an empty string' : describeType(issue.input)} (the value is not shown)`;
  return z.string({ error }).min(1, { error });
}

function describeType(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function text(what: string) {
  return z.string({ error: (issue) => `expected ${what}, got ${describeValue(issue.input)}` }).min(1, {
    error: () => `expected ${what}, got an empty string`,
  });
}

const listenText = z
  .string({ error: (issue) => `expected host:port, e.g. 127.0.0.1:9100, got ${describeValue(issue.input)}` })
  .superRefine((value, ctx) => {
    const parsed = parseAddress(value, { allowPortZero: true });
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message, input: value });
  });

/** `admin`: the admin API (stats, metrics, live control, POST /reload) beside the balancer. */
const adminSchema = strictObject(
  {
    listen: listenText,
    token: z
      .string({ error: (issue) => `expected a string, got ${describeType(issue.input)} (the value is not shown)` })
      .superRefine((token, ctx) => {
        if (!/^[\x21-\x7e]+$/.test(token)) {
          ctx.addIssue({
            code: 'custom',
            message:
              token === ''
                ? 'expected a non-empty string'
                : 'must be visible ASCII characters only, no spaces (the value is not shown)',
          });
        }
      })
      .optional(),
  },
  'an object { listen, token? }',
);

/** `logging`: the log level, the format of the lines, and sampled access logs. */
const loggingSchema = strictObject(
  {
    level: oneOf(logLevels).optional(),
    format: oneOf(logFormats).optional(),
    access: strictObject({ sampleRate: sampleRateSchema }, 'an object { sampleRate }').optional(),
  },
  'an object { level?, format?, access? }',
);

const dnsServer = z
  .string({ error: (issue) => `expected a numeric DNS server address like 127.0.0.1:53, got ${describeValue(issue.input)}` })
  .superRefine((value, ctx) => {
    if (isIP(value) !== 0) return;
    const parsed = parseAddress(value);
    if (!parsed.ok || parsed.address.kind === 'hostname') {
      ctx.addIssue({ code: 'custom', message: `expected a numeric DNS server address like 127.0.0.1:53, got '${value}'` });
    }
  });

const dnsName = z
  .string({
    error: (issue) => `expected a DNS name like api.internal or _http._tcp.api.internal, got ${describeValue(issue.input)}`,
  })
  .refine(
    (name) =>
      /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/.test(
        name,
      ),
    {
      error: (issue) => `expected a DNS name like api.internal or _http._tcp.api.internal, got ${describeValue(issue.input)}`,
    },
  );

const ttl = integer({ min: 100, max: 86_400_000 });

/** `discovery.dns`: the pool follows a DNS name (see docs/deployment-ha.md). */
export const dnsDiscoverySchema = strictObject(
  {
    name: dnsName,
    type: oneOf(['A', 'AAAA', 'SRV']),
    port: integer({ min: 1, max: 65_535 }).optional(),
    resolver: dnsServer.optional(),
    weight: integer(bounds.weight).optional(),
    timeoutMs: integer({ min: 10, max: 60_000 }).optional(),
    tries: integer({ min: 1, max: 10 }).optional(),
    minTtlMs: ttl.optional(),
    maxTtlMs: ttl.optional(),
  },
  'an object { name, type, port?, resolver?, ... }',
).superRefine((o, ctx) => {
  if (o.type !== 'SRV' && o.port === undefined) {
    ctx.addIssue({ code: 'custom', path: ['port'], message: `required for type ${o.type}: the backends' port` });
  }
  if (o.type === 'SRV' && o.port !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['port'], message: 'only applies to A and AAAA; SRV records carry their own ports' });
  }
  if (o.minTtlMs !== undefined && o.maxTtlMs !== undefined && o.minTtlMs > o.maxTtlMs) {
    ctx.addIssue({ code: 'custom', path: ['maxTtlMs'], message: `must be >= minTtlMs (${o.minTtlMs}), got ${o.maxTtlMs}` });
  }
});

const retryMs = integer({ min: 10, max: 600_000 });

/** `discovery.etcd`: the pool follows an etcd key prefix (see docs/deployment-ha.md). */
export const etcdDiscoverySchema = strictObject(
  {
    endpoints: etcdEndpointsSchema,
    prefix: text('a key prefix like /lb/pools/web/'),
    auth: strictObject(
      { username: secretString('a user name'), password: secretString('a password') },
      'an object { username, password }',
    ).optional(),
    tls: etcdTlsSchema.optional(),
    timeoutMs: integer({ min: 100, max: 600_000 }).optional(),
    retryMinMs: retryMs.optional(),
    retryMaxMs: retryMs.optional(),
    keepaliveMs: integer({ min: 5_000, max: 600_000 }).optional(),
  },
  'an object { endpoints, prefix, auth?, tls?, ... }',
).superRefine((o, ctx) => {
  if (o.retryMinMs !== undefined && o.retryMaxMs !== undefined && o.retryMinMs > o.retryMaxMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['retryMaxMs'],
      message: `must be >= retryMinMs (${o.retryMinMs}), got ${o.retryMaxMs}`,
    });
  }
});

/** `discovery`: one source, `dns` or `etcd`. */
const discoverySchema = strictObject(
  { dns: dnsDiscoverySchema.optional(), etcd: etcdDiscoverySchema.optional() },
  'an object with dns or etcd',
).superRefine((d, ctx) => {
  if (d.dns && d.etcd)
    ctx.addIssue({ code: 'custom', path: ['etcd'], message: 'give one discovery source, dns or etcd, not both' });
  if (!d.dns && !d.etcd) ctx.addIssue({ code: 'custom', message: 'expected a source: dns or etcd' });
});

/**
 * `tls` in a file: the listener's certificates as files, certificates from an ACME server
 * (`acme`, src/acme/), or both.
 */
const { acmeCertificate: _acmeCertificate, ...fileTlsShape } = listenerTlsShape;
const fileTlsSchema = strictObject(
  { ...fileTlsShape, acme: acmeSchema.optional() },
  'an object { certificates?, acme?, hsts?, clientCertificates?, sessionTickets?, ktls? }',
).superRefine((tls, ctx) => {
  if (!tls.certificates && !tls.acme) {
    ctx.addIssue({ code: 'custom', message: 'expected certificates (files), acme, or both' });
  }
});
type FileTls = z.output<typeof fileTlsSchema>;

/**
 * Takes the ACME section out of the listeners' tls: the balancer runs one AcmeManager
 * (`acme` in the output), and each listener that named it serves what it issues
 * (`acmeCertificate`). In the one-listener form, `tls: { acme }` without certificate
 * files leaves that listener plain: it answers HTTP-01, and an issued certificate has no
 * TLS listener to go to until `listeners` gives one.
 */
function splitAcme<
  C extends {
    tls?: FileTls | undefined;
    listeners?:
      Array<{ listen: ListenAddress; tls?: FileTls | undefined; httpsRedirect?: HttpsRedirectConfig | undefined }> | undefined;
  },
>(config: C): Omit<C, 'tls' | 'listeners'> & { tls?: ListenerTlsConfig; listeners?: ListenerConfig[]; acme?: AcmeConfig } {
  let acme: AcmeConfig | undefined;
  const served = (tls: FileTls): ListenerTlsConfig => {
    const { acme: section, ...rest } = tls;
    acme ??= section;
    return section ? { ...rest, acmeCertificate: true } : rest;
  };
  const { tls, listeners, ...rest } = config;
  const out: Omit<C, 'tls' | 'listeners'> & { tls?: ListenerTlsConfig; listeners?: ListenerConfig[]; acme?: AcmeConfig } = rest;
  if (listeners) {
    out.listeners = listeners.map(({ listen, tls: listenerTls, httpsRedirect }) => ({
      listen,
      ...(listenerTls ? { tls: served(listenerTls) } : {}),
      ...(httpsRedirect ? { httpsRedirect } : {}),
    }));
  } else if (tls?.acme && !tls.certificates) {
    acme = tls.acme;
  } else if (tls) {
    out.tls = served(tls);
  }
  if (acme) out.acme = acme;
  return out;
}

/**
 * Every listener that names `acme` must name the same one: a balancer runs one AcmeManager.
 * TLS-ALPN-01 needs a TLS listener that names it (the one-listener form with `tls: { acme }`
 * alone keeps its listener plain).
 */
function refineAcme(
  config: { tls?: FileTls | undefined; listeners?: ReadonlyArray<{ tls?: FileTls | undefined }> | undefined },
  ctx: z.RefinementCtx,
): void {
  const { listeners } = config;
  if (!listeners && config.tls?.acme?.challenge === 'tls-alpn-01' && !config.tls.certificates) {
    ctx.addIssue({
      code: 'custom',
      path: ['tls', 'acme', 'challenge'],
      message:
        'tls-alpn-01 is answered on a TLS listener, and tls: { acme } alone keeps this one plain; use http-01, or give listeners: [...] with a TLS listener naming acme',
    });
  }
  let first: { index: number; key: string } | undefined;
  (listeners ?? []).forEach((listener, index) => {
    const acme = listener.tls?.acme;
    if (!acme) return;
    const key = JSON.stringify(acme);
    if (!first) first = { index, key };
    else if (first.key !== key) {
      ctx.addIssue({
        code: 'custom',
        path: ['listeners', index, 'tls', 'acme'],
        message: `differs from listeners[${first.index}].tls.acme; a balancer runs one ACME account and certificate, so give the same section`,
      });
    }
  });
}

// In a file, the access-log sample rate is `logging.access.sampleRate`.
const { accessLogSampleRate: _sampleRate, backends: _backends, ...sharedShape } = optionsShape;

/** The whole file. Its output: validated options, backends possibly empty, and the file-only sections. */
export const configFileSchema = strictObject(
  {
    ...sharedShape,
    backends: backendsSchema(0).optional(),
    admin: adminSchema.optional(),
    logging: loggingSchema.optional(),
    discovery: discoverySchema.optional(),
    tls: fileTlsSchema.optional(),
    listeners: listenersSchema(fileTlsSchema).optional(),
  },
  'a mapping of options (listen, backends, ...)',
)
  .superRefine((config, ctx) => {
    refineOptions(config, ctx);
    refineAcme(config, ctx);
    // Host names are checked when the admin server starts (they must be resolved first).
    const admin = config.admin ? parseAddress(config.admin.listen, { allowPortZero: true }) : undefined;
    if (admin?.ok && admin.address.kind !== 'hostname' && !isLoopback(admin.address.host) && config.admin?.token === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['admin', 'token'],
        message: `required when the admin API listens on a non-loopback address (${config.admin?.listen}): set admin.token (or --admin-token), or listen on 127.0.0.1`,
      });
    }
    if (!config.discovery && (config.backends ?? []).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['backends'],
        message: config.backends
          ? 'expected at least one backend (or a discovery section)'
          : 'missing: give at least one backend, or a discovery section',
      });
    }
  })
  .transform((config) => finishOptions(splitAcme(config)));

export type ConfigFile = z.output<typeof configFileSchema>;
export type DnsDiscoveryConfig = z.output<typeof dnsDiscoverySchema>;
export type EtcdDiscoveryConfig = z.output<typeof etcdDiscoverySchema>;
