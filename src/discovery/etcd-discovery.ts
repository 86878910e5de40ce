// A pool that follows an etcd key prefix (v3 API): every key under it is one backend,
// its value `host:port` or JSON `{"address": "host:port", "weight": 3, "state": "drain"}`.
// The prefix is read once, then watched from the revision read; each change is applied
// to the balancer by a BackendSync. etcd is the source of truth for these backends: a
// plain `host:port` value means weight 1 and state 'ready'.
//
// Losing etcd keeps the backends as they are and emits 'error' for each failed
// reconnection attempt; the etcd3 watcher reconnects by itself (with our backoff) and
// resumes from the last revision it saw, so nothing written meanwhile is missed. If
// that revision was compacted away, the watch is cancelled and the prefix is read anew.
import { Etcd3, type IKeyValue, type IOptions, type Watcher } from 'etcd3';
import { z } from 'zod';

import { addressKey } from '../config/address.js';
import { DiscoveryError } from '../errors.js';
import { type BackendSyncOptions, BackendSync, type SyncTarget } from './backend-sync.js';
import type { DiscoveredBackend } from './discovered-backend.js';
import { Discovery } from './handle.js';
import { checkDiscoveryOptions } from './options-check.js';

export interface EtcdDiscoveryOptions extends BackendSyncOptions {
  /** etcd client URLs, e.g. `['http://10.0.0.5:2379']`. */
  endpoints: string[];
  /** The key prefix, e.g. `/lb/pools/web/`. Every key under it is a backend. */
  prefix: string;
  auth?: { username: string; password: string };
  /** TLS (https endpoints): PEM buffers, as etcd3 takes them. */
  credentials?: IOptions['credentials'];
  /** Connecting and each request time out after this. Default 5000. */
  timeoutMs?: number;
  /** First delay before reconnecting after a failure; doubles up to retryMaxMs. Default 500. */
  retryMinMs?: number;
  /** Longest delay between reconnection attempts. Default 5000. */
  retryMaxMs?: number;
  /** gRPC keepalive ping interval, to notice a silent network loss. Default 10000 (etcd refuses below 5000). */
  keepaliveMs?: number;
}

export const etcdDiscoveryDefaults = { timeoutMs: 5_000, retryMinMs: 500, retryMaxMs: 5_000, keepaliveMs: 10_000 } as const;

const optionsSchema = z
  .object({
    endpoints: z
      .array(z.string().regex(/^(https?:\/\/)?[^\s/]+(:\d+)?\/?$/, 'expected a URL such as http://127.0.0.1:2379'))
      .min(1),
    prefix: z.string().min(1),
    auth: z.object({ username: z.string().min(1), password: z.string() }).optional(),
    credentials: z.unknown().optional(),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    retryMinMs: z.number().int().min(10).max(600_000).optional(),
    retryMaxMs: z.number().int().min(10).max(600_000).optional(),
    keepaliveMs: z.number().int().min(5_000).max(600_000).optional(),
    owns: z.enum(['all', 'discovered']).optional(),
  })
  .superRefine((o, ctx) => {
    const min = o.retryMinMs ?? etcdDiscoveryDefaults.retryMinMs;
    const max = o.retryMaxMs ?? etcdDiscoveryDefaults.retryMaxMs;
    if (min > max) ctx.addIssue({ code: 'custom', path: ['retryMaxMs'], message: `must be >= retryMinMs (${min}), got ${max}` });
  });

/** Validates etcd discovery options; throws LbConfigError with paths under `discovery.etcd`. */
export function validateEtcdDiscoveryOptions(options: EtcdDiscoveryOptions): EtcdDiscoveryOptions {
  return checkDiscoveryOptions(optionsSchema, options, 'etcd');
}

const valueSchema = z.object({
  address: z.string().min(1),
  weight: z.number().int().min(1).max(256).optional(),
  state: z.enum(['ready', 'drain', 'maint']).optional(),
});

const addressPattern = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;

/**
 * Parses one etcd value into a backend: `host:port`, `[ipv6]:port`, or JSON
 * `{address, weight?, state?}`. Weight defaults to 1 and state to 'ready'. Throws an
 * Error saying what was expected.
 */
export function parseEtcdValue(value: string): Required<DiscoveredBackend> {
  const text = value.trim();
  let address: string;
  let weight = 1;
  let state: DiscoveredBackend['state'] = 'ready';
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(
        'not valid JSON; expected "host:port" or {"address": "host:port", "weight": 1-256, "state": "ready"|"drain"|"maint"}',
      );
    }
    const parsed = valueSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`);
    }
    address = parsed.data.address.trim();
    weight = parsed.data.weight ?? weight;
    state = parsed.data.state ?? state;
  } else {
    address = text;
  }
  const match = addressPattern.exec(address);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65_535) throw new Error(`'${address}' is not host:port (port 1-65535)`);
  return { address, weight, state };
}

/** Reads the prefix once (for the initial backends of a balancer about to be created). */
export async function readEtcdBackends(options: EtcdDiscoveryOptions): Promise<DiscoveredBackend[]> {
  validateEtcdDiscoveryOptions(options);
  const client = new Etcd3(clientOptions(options));
  try {
    const response = await client.getAll().prefix(options.prefix).exec();
    return toBackends(new Map(response.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]))).backends;
  } finally {
    client.close();
  }
}

/** Valid backends by key order (the first key wins an address listed twice), and what was wrong with the rest. */
function toBackends(values: ReadonlyMap<string, string>): { backends: DiscoveredBackend[]; problems: string[] } {
  const backends: DiscoveredBackend[] = [];
  const problems: string[] = [];
  const owner = new Map<string, string>();
  for (const key of [...values.keys()].sort()) {
    try {
      const backend = parseEtcdValue(values.get(key)!);
      const addressOwner = owner.get(addressKey(backend.address));
      if (addressOwner !== undefined) {
        problems.push(`key '${key}': ${backend.address} is already given by key '${addressOwner}'; ignored`);
        continue;
      }
      owner.set(addressKey(backend.address), key);
      backends.push(backend);
    } catch (error) {
      problems.push(`key '${key}': ${(error as Error).message}; ignored`);
    }
  }
  return { backends, problems };
}

/** Exponential backoff in the shape the etcd3 watch manager takes (cockatiel's IBackoff). */
class DoublingBackoff {
  readonly duration: number;
  readonly #max: number;

  constructor(duration: number, max: number) {
    this.duration = Math.min(duration, max);
    this.#max = max;
  }

  next(): DoublingBackoff {
    return new DoublingBackoff(this.duration * 2, this.#max);
  }
}

function clientOptions(options: EtcdDiscoveryOptions): IOptions {
  const timeoutMs = options.timeoutMs ?? etcdDiscoveryDefaults.timeoutMs;
  const retryMinMs = options.retryMinMs ?? etcdDiscoveryDefaults.retryMinMs;
  const retryMaxMs = options.retryMaxMs ?? etcdDiscoveryDefaults.retryMaxMs;
  const keepaliveMs = options.keepaliveMs ?? etcdDiscoveryDefaults.keepaliveMs;
  const client: IOptions = {
    hosts: options.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`)),
    dialTimeout: timeoutMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    faultHandling: { watchBackoff: new DoublingBackoff(retryMinMs, retryMaxMs) },
    grpcOptions: {
      'grpc.keepalive_time_ms': keepaliveMs,
      'grpc.keepalive_timeout_ms': Math.min(keepaliveMs, timeoutMs),
      'grpc.keepalive_permit_without_calls': 1,
    },
  };
  if (options.auth) client.auth = options.auth;
  if (options.credentials) client.credentials = options.credentials;
  return client;
}

/** A running etcd discovery; see `startEtcdDiscovery`. */
export class EtcdDiscovery extends Discovery {
  readonly #client: Etcd3;
  readonly #sync: BackendSync;
  readonly #prefix: string;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  /** Key -> value under the prefix, as last read or watched. */
  readonly #values = new Map<string, string>();
  #watcher: Watcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs: number;
  #stopped = false;
  #applyScheduled = false;
  #applying: Promise<void> = Promise.resolve();
  #connected = false;
  #reconnects = 0;

  constructor(target: SyncTarget, options: EtcdDiscoveryOptions) {
    super();
    validateEtcdDiscoveryOptions(options);
    this.#prefix = options.prefix;
    this.#retryMinMs = options.retryMinMs ?? etcdDiscoveryDefaults.retryMinMs;
    this.#retryMaxMs = options.retryMaxMs ?? etcdDiscoveryDefaults.retryMaxMs;
    this.#retryMs = this.#retryMinMs;
    this.#sync = new BackendSync(target, options.owns === undefined ? {} : { owns: options.owns });
    this.#client = new Etcd3(clientOptions(options));
    void this.#start();
  }

  /** Whether the watch is connected to etcd now. */
  get connected(): boolean {
    return this.#connected;
  }

  /** How often the watch came back after losing etcd. */
  get reconnects(): number {
    return this.#reconnects;
  }

  override async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (watcher) {
      watcher.removeAllListeners();
      watcher.on('error', () => undefined);
      // Cancelling waits for etcd's answer; do not wait long for an etcd that is gone.
      await Promise.race([watcher.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
    }
    await this.#applying;
    this.#client.close();
    this.markReady();
  }

  /** Reads the whole prefix, applies it, then watches from the next revision. */
  async #start(): Promise<void> {
    let revision: bigint;
    try {
      const response = await this.#client.getAll().prefix(this.#prefix).exec();
      if (this.#stopped) return;
      this.#values.clear();
      for (const kv of response.kvs) this.#values.set(kv.key.toString(), kv.value.toString());
      revision = BigInt(response.header.revision);
    } catch (error) {
      if (this.#stopped) return;
      this.#connected = false;
      this.failed(
        new DiscoveryError(
          'etcd',
          'connection',
          `etcd ${this.#prefix}: cannot read the prefix (${messageOf(error)}); keeping the last good backends, retrying in ${this.#retryMs} ms`,
          {
            cause: error,
          },
        ),
      );
      this.markReady();
      this.#timer = setTimeout(() => void this.#start(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMaxMs, this.#retryMs * 2);
      return;
    }
    this.#retryMs = this.#retryMinMs;
    this.#connected = true;
    await this.#apply(true);
    this.markReady();
    if (!this.#stopped) this.#watch(revision + 1n);
  }

  #watch(fromRevision: bigint): void {
    const watcher = this.#client.watch().prefix(this.#prefix).startRevision(fromRevision.toString()).watcher();
    this.#watcher = watcher;
    let lost = false;
    watcher.on('put', (kv: IKeyValue) => {
      const key = kv.key.toString();
      const value = kv.value.toString();
      this.#values.set(key, value);
      try {
        parseEtcdValue(value);
      } catch (error) {
        this.failed(new DiscoveryError('etcd', 'value', `etcd key '${key}': ${messageOf(error)}; ignored`));
      }
      this.#scheduleApply();
    });
    watcher.on('delete', (kv: IKeyValue) => {
      this.#values.delete(kv.key.toString());
      this.#scheduleApply();
    });
    watcher.on('disconnected', (error: unknown) => {
      if (this.#stopped) return;
      lost = true;
      this.#connected = false;
      this.failed(
        new DiscoveryError(
          'etcd',
          'connection',
          `etcd ${this.#prefix}: watch lost (${messageOf(error)}); keeping the last good backends, reconnecting`,
          {
            cause: error,
          },
        ),
      );
    });
    watcher.on('connected', () => {
      this.#connected = true;
      if (lost) this.#reconnects += 1;
      lost = false;
    });
    watcher.on('error', (error: unknown) => {
      // The watch was cancelled by etcd (e.g. its revision was compacted): read anew.
      if (this.#stopped || this.#watcher !== watcher) return;
      this.#watcher = undefined;
      this.#connected = false;
      watcher.removeAllListeners();
      watcher.on('error', () => undefined);
      this.failed(
        new DiscoveryError('etcd', 'connection', `etcd ${this.#prefix}: ${messageOf(error)}; reading the prefix again`, {
          cause: error,
        }),
      );
      this.#timer = setTimeout(() => void this.#start(), this.#retryMs);
    });
  }

  /** Changes that arrive together (one etcd transaction, one watch response) are applied together. */
  #scheduleApply(): void {
    if (this.#applyScheduled) return;
    this.#applyScheduled = true;
    setImmediate(() => {
      this.#applyScheduled = false;
      if (!this.#stopped) void this.#apply(false);
    });
  }

  #apply(reportProblems: boolean): Promise<void> {
    this.#applying = this.#applying.then(async () => {
      const { backends, problems } = toBackends(this.#values);
      // Values already reported when they were put; after a full read, report them once.
      if (reportProblems) for (const problem of problems) this.failed(new DiscoveryError('etcd', 'value', `etcd ${problem}`));
      if (backends.length === 0) {
        this.failed(
          new DiscoveryError(
            'etcd',
            'empty',
            `etcd ${this.#prefix}: no backend under the prefix; keeping the last good backends`,
          ),
        );
        return;
      }
      const result = await this.#sync.apply(backends);
      for (const error of result.errors)
        this.failed(new DiscoveryError('etcd', 'apply', `etcd ${this.#prefix}: ${error.message}`, { cause: error }));
      this.applied({ backends, added: result.added, removed: result.removed, changed: result.changed });
    });
    return this.#applying;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Makes `balancer`'s pool follow the keys under `prefix` in etcd: each key a backend,
 * value `host:port` or `{"address", "weight", "state"}`. Puts add or change backends,
 * deletes drain and remove them. Throws LbConfigError for invalid options. The first read
 * starts at once: await `ready` for it.
 */
export function startEtcdDiscovery(balancer: SyncTarget, options: EtcdDiscoveryOptions): EtcdDiscovery {
  return new EtcdDiscovery(balancer, options);
}
