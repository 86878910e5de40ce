// The `protection` section: allow/deny lists, connections per client and rate limits,
// enforced in the data path (native/protection, docs/protection.md). Names follow what
// users of the usual proxies expect: `allow`/`deny` as nginx's access module,
// `maxConnectionsPerClient` as nginx's `limit_conn` per `$binary_remote_addr` (HAProxy:
// `sc_conn_cur`), and rate limits as token buckets with `rate` (requests per second, as
// nginx's `rate=10r/s`) and `burst` (the bucket size, Envoy's `max_tokens`; nginx's `burst`
// plus one). The numeric scalars are rows of native-options.ts; the rest is read again by
// native/addon/protection_conversion.cpp with the same ranges (`bounds`).
//
// The builders come from schema.ts as an argument, so this module imports nothing of it
// (schema.ts includes this section in every options object: an import back would be a circle).
import { z } from 'zod';

import { parseCidr } from './cidr.js';
import { bounds, defaults } from './defaults.js';

export const rateLimitKeys = ['client', 'header', 'path'] as const;
export type RateLimitKey = (typeof rateLimitKeys)[number];

/** One rate limit. */
export interface RateLimitOptions {
  /** Shown in stats and messages. Default: `<key>-<position>`, e.g. `client-0`. */
  name?: string;
  /** 'client': a bucket per client address; 'header': per value of `header`; 'path': one bucket for everything under `pathPrefix`. */
  key: RateLimitKey;
  /** key 'header': the request header whose value is the key (requests without it are not limited by this rule). */
  header?: string;
  /** key 'path': the prefix; other keys: only requests under it count. Starts with '/'. */
  pathPrefix?: string;
  /** Requests per second, 0.001 to 1000000 (fractions allowed: 0.5 is one every 2 s). */
  rate: number;
  /** Requests allowed at once after a lull (the bucket size), 1 to 1000000. */
  burst: number;
  /** Shared by every balancer on `protection.cluster`'s Redis (false: each balancer on its own). */
  cluster?: boolean;
}

/** Cluster-wide rate limits (docs/protection.md, "Across balancers"). Defaults in parentheses. */
export interface ClusterLimitsOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  redis: string;
  /** How often counts go to Redis and over-limit keys come back, 20 to 5000 (100). */
  intervalMs?: number;
  /** Redis key prefix ('lb-native:rl:'). */
  prefix?: string;
  /** Balancers sharing the limits (1). */
  peers?: number;
  /** Share of each cluster rule's rate (and burst) a balancer's workers apply while Redis cannot be reached (1 / peers). */
  localShare?: number;
  /** Distinct keys each worker counts between two exchanges, and keys blocked at once, 64 to 1048576 (16384). */
  keys?: number;
  /** A Redis exchange taking longer fails, 10 to 60000 (1000). */
  timeoutMs?: number;
}

/** Edge protection. Defaults in parentheses. */
export interface ProtectionOptions {
  /** CIDR blocks; when not empty, only clients in one of them are accepted ([]). */
  allow?: string[];
  /** CIDR blocks whose clients are closed at accept; wins over allow ([]). */
  deny?: string[];
  /** Open connections per client address, whole balancer; 0 no limit (0). */
  maxConnectionsPerClient?: number;
  /** Keys each worker's rate-limit table holds, 32 bytes each (65536). */
  rateLimitKeys?: number;
  rateLimits?: RateLimitOptions[];
  /** Redis for the rules with `cluster: true`. */
  cluster?: ClusterLimitsOptions;
  /** The pool's circuit breaker (Envoy's names; 0 is off). */
  circuitBreaker?: CircuitBreakerOptions;
}

/** The pool's circuit breaker, for the whole balancer (docs/protection.md). Defaults in parentheses. */
export interface CircuitBreakerOptions {
  /** Requests in flight across every backend at once; 0: no limit (0). */
  maxRequests?: number;
  /** With maxRequests reached, how many more may wait (in their backend's queue); beyond, 503 at once (0). */
  maxPendingRequests?: number;
}

interface Range {
  readonly min: number;
  readonly max: number;
}

/** What this section needs from schema.ts. */
export interface SchemaBuilders {
  integer(range: Range): z.ZodType<number>;
  strictObject<Shape extends z.ZodRawShape>(shape: Shape, what: string): z.ZodObject<Shape>;
  describeValue(value: unknown): string;
}

const p = defaults.protection;

/** The `protection` section's schema, every default filled in. */
export function makeProtectionSchema({ integer, strictObject, describeValue }: SchemaBuilders) {
  const cidr = z
    .string({ error: (issue) => `expected a CIDR block like 10.0.0.0/8, got ${describeValue(issue.input)}` })
    .superRefine((text, ctx) => {
      const parsed = parseCidr(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message, input: text });
    });
  const cidrList = z.array(cidr, {
    error: (issue) => `expected a list of CIDR blocks, got ${describeValue(issue.input)}`,
  });
  const rate = z
    .number({ error: (issue) => `expected requests per second from 0.001 to 1000000, got ${describeValue(issue.input)}` })
    .refine((n) => Number.isFinite(n) && n >= bounds.rateLimitRate.min && n <= bounds.rateLimitRate.max, {
      error: (issue) => `expected requests per second from 0.001 to 1000000, got ${describeValue(issue.input)}`,
    });
  const text = (what: string, pattern: RegExp) =>
    z
      .string({ error: (issue) => `expected ${what}, got ${describeValue(issue.input)}` })
      .refine((value) => value.length >= 1 && value.length <= 256 && pattern.test(value), {
        error: (issue) => `expected ${what}, got ${describeValue(issue.input)}`,
      });
  const rule = strictObject(
    {
      name: text('a name of letters, digits, _ . -', /^[A-Za-z0-9_.-]+$/).optional(),
      key: z.enum(rateLimitKeys, {
        error: (issue) => `expected one of ${rateLimitKeys.join(', ')}, got ${describeValue(issue.input)}`,
      }),
      header: text('a header name', /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/).optional(),
      pathPrefix: text("a path starting with '/' (no spaces)", /^\/[\x21-\x7e]*$/).optional(),
      rate,
      burst: integer(bounds.rateLimitBurst),
      cluster: z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` }).optional(),
    },
    'an object { key, rate, burst, name?, header?, pathPrefix?, cluster? }',
  ).superRefine((r, ctx) => {
    if (r.key === 'header' && r.header === undefined) {
      ctx.addIssue({ code: 'custom', path: ['header'], message: "required for key 'header': the header to count by" });
    }
    if (r.key !== 'header' && r.header !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['header'], message: `only applies to key 'header'; key is '${r.key}'` });
    }
    if (r.key === 'path' && r.pathPrefix === undefined) {
      ctx.addIssue({ code: 'custom', path: ['pathPrefix'], message: "required for key 'path': the prefix to limit" });
    }
  });
  const rules = z
    .array(rule, { error: (issue) => `expected a list of rate limits, got ${describeValue(issue.input)}` })
    .max(bounds.rateLimitRules.max, { error: `at most ${bounds.rateLimitRules.max} rate limits` })
    .transform((list) => list.map((r, index) => ({ ...r, name: r.name ?? `${r.key}-${index}` })))
    .superRefine((list, ctx) => {
      const seen = new Map<string, number>();
      list.forEach((r, index) => {
        const first = seen.get(r.name);
        if (first === undefined) seen.set(r.name, index);
        else ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `same name as rateLimits[${first}]` });
      });
    });
  const c = p.cluster;
  const share = z
    .number({ error: (issue) => `expected a share above 0 and at most 1, got ${describeValue(issue.input)}` })
    .refine((n) => Number.isFinite(n) && n > 0 && n <= 1, {
      error: (issue) => `expected a share above 0 and at most 1, got ${describeValue(issue.input)}`,
    });
  // The URL may carry a password: a refusal names the field and what was expected, never the value.
  const redisUrl = z
    .string({ error: (issue) => `expected a URL like redis://127.0.0.1:6379, got ${typeof issue.input}` })
    .refine((value) => /^rediss?:\/\/[^\s/]+(\/\d{1,2})?$/.test(value) && URL.canParse(value), {
      error: 'expected a URL like redis://[user:password@]host:port[/db] (not shown: it may carry a password)',
    });
  const cluster = strictObject(
    {
      redis: redisUrl,
      intervalMs: integer(bounds.clusterIntervalMs).default(c.intervalMs),
      prefix: text('a key prefix of letters, digits, _ . : -', /^[A-Za-z0-9_.:-]+$/).default(c.prefix),
      peers: integer(bounds.clusterPeers).default(c.peers),
      localShare: share.optional(),
      keys: integer(bounds.clusterKeys).default(c.keys),
      timeoutMs: integer(bounds.clusterTimeoutMs).default(c.timeoutMs),
    },
    'an object { redis, intervalMs?, prefix?, peers?, localShare?, keys?, timeoutMs? }',
  ).transform(({ localShare, ...rest }) => ({ ...rest, localShare: localShare ?? 1 / rest.peers }));
  return strictObject(
    {
      allow: cidrList.default([]),
      deny: cidrList.default([]),
      maxConnectionsPerClient: integer(bounds.maxConnectionsPerClient).default(p.maxConnectionsPerClient),
      rateLimitKeys: integer(bounds.rateLimitKeys).default(p.rateLimitKeys),
      rateLimits: rules.default([]),
      cluster: cluster.optional(),
      circuitBreaker: strictObject(
        {
          maxRequests: integer(bounds.circuitBreakerRequests).default(0),
          maxPendingRequests: integer(bounds.circuitBreakerRequests).default(0),
        },
        'an object { maxRequests?, maxPendingRequests? }',
      ).optional(),
    },
    'an object { allow?, deny?, maxConnectionsPerClient?, rateLimitKeys?, rateLimits?, cluster?, circuitBreaker? }',
  )
    .superRefine((section, ctx) => {
      if (section.cluster) return;
      section.rateLimits.forEach((r, index) => {
        if (r.cluster) {
          ctx.addIssue({
            code: 'custom',
            path: ['rateLimits', index, 'cluster'],
            message: 'needs protection.cluster (the Redis the balancers share)',
          });
        }
      });
    })
    .prefault({});
}

/** The validated section. */
export type ProtectionConfig = z.output<ReturnType<typeof makeProtectionSchema>>;
