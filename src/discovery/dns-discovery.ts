// A pool that follows a DNS name: resolved at once, then again when the answer's TTL runs
// out (clamped to minTtlMs..maxTtlMs), each answer applied to the balancer by a
// BackendSync. A failed resolution keeps the backends as they are, emits 'error', and is
// retried sooner (minTtlMs, doubling up to maxTtlMs).
import { z } from 'zod';

import { addressKey } from '../config/address.js';
import { DiscoveryError, DnsQueryError } from '../errors.js';
import { type BackendSyncOptions, BackendSync, type SyncTarget } from './backend-sync.js';
import type { DiscoveredBackend } from './discovered-backend.js';
import { type DnsAnswer, type DnsLookup, DnsResolver, parseDnsServer } from './dns-resolver.js';
import { Discovery } from './handle.js';
import { checkDiscoveryOptions } from './options-check.js';

export interface DnsDiscoveryOptions extends DnsLookup, BackendSyncOptions {
  /** Never re-resolve sooner than this after a success, whatever the TTL (also the first retry delay after a failure). Default 1000. */
  minTtlMs?: number;
  /** Re-resolve at least this often, whatever the TTL (also the longest retry delay). Default 60000. */
  maxTtlMs?: number;
}

export const dnsDiscoveryDefaults = { minTtlMs: 1_000, maxTtlMs: 60_000, timeoutMs: 2_000, tries: 2 } as const;

const optionsSchema = z
  .object({
    name: z.string().min(1).max(253),
    type: z.enum(['A', 'AAAA', 'SRV']),
    port: z.number().int().min(1).max(65_535).optional(),
    resolver: z
      .string()
      .optional()
      .superRefine((text, ctx) => {
        if (text === undefined) return;
        try {
          parseDnsServer(text);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
    weight: z.number().int().min(1).max(256).optional(),
    timeoutMs: z.number().int().min(10).max(60_000).optional(),
    tries: z.number().int().min(1).max(10).optional(),
    minTtlMs: z.number().int().min(100).max(86_400_000).optional(),
    maxTtlMs: z.number().int().min(100).max(86_400_000).optional(),
    owns: z.enum(['all', 'discovered']).optional(),
  })
  .superRefine((o, ctx) => {
    if (o.type !== 'SRV' && o.port === undefined) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: `an ${o.type} pool needs the backends' port` });
    }
    const min = o.minTtlMs ?? dnsDiscoveryDefaults.minTtlMs;
    const max = o.maxTtlMs ?? dnsDiscoveryDefaults.maxTtlMs;
    if (min > max) ctx.addIssue({ code: 'custom', path: ['maxTtlMs'], message: `must be >= minTtlMs (${min}), got ${max}` });
  });

/** Validates DNS discovery options; throws LbConfigError with paths under `discovery.dns`. */
export function validateDnsDiscoveryOptions(options: DnsDiscoveryOptions): DnsDiscoveryOptions {
  return checkDiscoveryOptions(optionsSchema, options, 'dns');
}

/** Resolves the name once (for the initial backends of a balancer about to be created). */
export async function resolveDnsBackends(options: DnsLookup): Promise<DiscoveredBackend[]> {
  validateDnsDiscoveryOptions(options);
  return (await new DnsResolver(options).resolve()).backends;
}

/** A running DNS discovery; see `startDnsDiscovery`. */
export class DnsDiscovery extends Discovery {
  readonly #resolver: DnsResolver;
  readonly #sync: BackendSync;
  readonly #minTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #name: string;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;
  #retryMs: number;
  #lastKeys = '';
  /** When the next resolution is due, and why (for tests and diagnostics). */
  #nextDelayMs = 0;

  constructor(target: SyncTarget, options: DnsDiscoveryOptions) {
    super();
    validateDnsDiscoveryOptions(options);
    this.#name = `${options.name} ${options.type}`;
    this.#minTtlMs = options.minTtlMs ?? dnsDiscoveryDefaults.minTtlMs;
    this.#maxTtlMs = options.maxTtlMs ?? dnsDiscoveryDefaults.maxTtlMs;
    this.#retryMs = this.#minTtlMs;
    this.#resolver = new DnsResolver(options);
    this.#sync = new BackendSync(target, options.owns === undefined ? {} : { owns: options.owns });
    this.#run();
  }

  /** Milliseconds from the last resolution to the next one. */
  get nextDelayMs(): number {
    return this.#nextDelayMs;
  }

  /** Resolves again now (the timer restarts from the answer). Resolves when applied. */
  refresh(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#inFlight) return this.#inFlight;
    clearTimeout(this.#timer);
    this.#run();
    return this.#inFlight ?? Promise.resolve();
  }

  override async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#resolver.cancel();
    await this.#inFlight;
    this.markReady();
  }

  #run(): void {
    this.#inFlight = this.#once().finally(() => {
      this.#inFlight = undefined;
      this.markReady();
    });
  }

  async #once(): Promise<void> {
    let answer: DnsAnswer;
    try {
      answer = await this.#resolver.resolve();
    } catch (error) {
      if (this.#stopped) return;
      const empty = error instanceof DnsQueryError && error.reason === 'ENODATA';
      const message = error instanceof Error ? error.message : String(error);
      this.failed(
        new DiscoveryError('dns', empty ? 'empty' : 'resolve', `${this.#name}: ${message}; keeping the last good backends`, {
          cause: error,
        }),
      );
      this.#schedule(this.#retryMs);
      this.#retryMs = Math.min(this.#maxTtlMs, this.#retryMs * 2);
      return;
    }
    if (this.#stopped) return;
    this.#retryMs = this.#minTtlMs;
    const result = await this.#sync.apply(answer.backends);
    for (const error of result.errors) {
      this.failed(new DiscoveryError('dns', 'apply', `${this.#name}: ${error.message}`, { cause: error }));
    }
    const keys = answer.backends
      .map((b) => `${addressKey(b.address)}/${b.weight ?? ''}`)
      .sort()
      .join(',');
    const changed = result.added.length + result.removed.length + result.changed.length > 0;
    if (changed || keys !== this.#lastKeys) {
      this.#lastKeys = keys;
      this.applied({ backends: answer.backends, added: result.added, removed: result.removed, changed: result.changed });
    }
    if (!this.#stopped) this.#schedule(answer.ttl * 1_000);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    const bounded = Math.min(this.#maxTtlMs, Math.max(this.#minTtlMs, delayMs));
    this.#nextDelayMs = bounded;
    this.#timer = setTimeout(() => this.#run(), bounded);
    this.#timer.unref?.();
  }
}

/**
 * Makes `balancer`'s pool follow a DNS name: an A/AAAA host name (every address, with
 * `port`) or an SRV name (lowest priority group; weights from the records). Backends that
 * appear are added, those that vanish are drained and removed. Throws LbConfigError for
 * invalid options. The first resolution starts at once: await `ready` for it.
 *
 * ```ts
 * const dns = startDnsDiscovery(lb, { name: 'api.internal', type: 'A', port: 8080, minTtlMs: 1000, maxTtlMs: 30000 });
 * dns.on('error', (err) => log.warn(err.message));
 * ```
 */
export function startDnsDiscovery(balancer: SyncTarget, options: DnsDiscoveryOptions): DnsDiscovery {
  return new DnsDiscovery(balancer, options);
}
