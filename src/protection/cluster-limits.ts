// The control plane's side of cluster-wide rate limits (docs/protection.md, "Across
// balancers"). Every `intervalMs` it collects what the workers admitted under the rules
// with `cluster: true` (per key, summed over workers), charges it to the keys' buckets in
// Redis (cluster-script.ts), and installs the keys Redis found over their limit in the
// workers, each until its next token. The request path never waits on this: between two
// exchanges the workers go on with their own buckets and the blocks last installed.
//
// When an exchange fails (Redis down, slow beyond `timeoutMs`), the workers are told to
// apply each cluster rule's local share (rate x localShare) and the blocks are lifted; the
// owner hears 'degraded' once, and 'restored' at the first exchange that works again.
// Counts gathered while degraded are not sent later: Redis starts again from what it knew.
import { Redis } from 'ioredis';

import type { ProtectionConfig } from '../config/protection-schema.js';
import type { NativeBalancer } from '../native.js';
import { keysPerCall, takeTokensScript } from './cluster-script.js';

export type ClusterSettings = NonNullable<ProtectionConfig['cluster']>;
type Rule = ProtectionConfig['rateLimits'][number];

/** What GET /protection and the metrics show of the exchanges. */
export interface ClusterLimitsStats {
  /** True while Redis cannot be reached: each balancer applies its local share. */
  degraded: boolean;
  /** Exchanges that worked, and those that failed. */
  exchanges: number;
  failures: number;
  /** Why the last exchange failed ('' if none has). */
  lastError: string;
  /** The longest time between the starts of two exchanges that worked, this run (ms). */
  maxExchangeGapMs: number;
  /** Keys blocked in the workers now (over their limit cluster-wide). */
  blockedKeys: number;
  /** 429s because a key was blocked cluster-wide (also in rateLimited). */
  limited: number;
  /** Admissions not counted (a worker's count table was full), and blocks that found no room. */
  countsDropped: number;
  blocksDropped: number;
  /** Memory of the count tables and the block table (fixed). */
  memoryBytes: number;
}

export interface ClusterLimitsEvents {
  degraded(reason: string): void;
  restored(): void;
}

type NativeCluster = Pick<NativeBalancer, 'collectClusterCounts' | 'setClusterBlocks'>;

interface TakeTokens {
  takeTokens(keyCount: number, ...args: Array<string | number>): Promise<number[]>;
}

export class ClusterLimits {
  readonly #native: NativeCluster;
  readonly #events: ClusterLimitsEvents;
  #settings: ClusterSettings;
  #rules: readonly Rule[];
  readonly #redis: Redis & TakeTokens;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;
  #lastSuccessStart = 0;
  /** Until then, an exchange that finds the first connection not made yet waits for it. */
  readonly #connectDeadline: number;
  readonly #stats: ClusterLimitsStats = {
    degraded: false,
    exchanges: 0,
    failures: 0,
    lastError: '',
    maxExchangeGapMs: 0,
    blockedKeys: 0,
    limited: 0,
    countsDropped: 0,
    blocksDropped: 0,
    memoryBytes: 0,
  };

  constructor(native: NativeCluster, settings: ClusterSettings, rules: readonly Rule[], events: ClusterLimitsEvents) {
    this.#native = native;
    this.#settings = settings;
    this.#rules = rules;
    this.#events = events;
    // No offline queue and no retries of a command: a command while Redis is away fails at
    // once (the exchange then degrades), and the client reconnects on its own.
    this.#redis = new Redis(settings.redis, {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: settings.timeoutMs,
      connectTimeout: Math.max(settings.timeoutMs, 1_000),
      retryStrategy: () => Math.min(Math.max(settings.intervalMs, 100), 1_000),
    }) as Redis & TakeTokens;
    this.#redis.on('error', () => undefined); // reported through the exchanges that fail
    this.#redis.defineCommand('takeTokens', { lua: takeTokensScript });
    this.#connectDeadline = Date.now() + Math.max(settings.timeoutMs, 1_000);
    this.#schedule(0);
  }

  /** A reload: new rules or timing (a new Redis address needs a new instance). */
  update(settings: ClusterSettings, rules: readonly Rule[]): void {
    this.#settings = settings;
    this.#rules = rules;
  }

  /** The Redis this instance talks to (a reload that changes it starts a new instance). */
  get redisUrl(): string {
    return this.#settings.redis;
  }

  stats(): ClusterLimitsStats {
    return { ...this.#stats };
  }

  /** Stops the exchanges and closes the connection. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
    this.#redis.disconnect();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      const started = Date.now();
      this.#inFlight = this.#exchange(started).finally(() => {
        this.#inFlight = undefined;
        this.#schedule(Math.max(0, this.#settings.intervalMs - (Date.now() - started)));
      });
    }, delayMs);
  }

  async #exchange(started: number): Promise<void> {
    // Starting: the first connection is under way. Not degraded for that (the workers go
    // on with their own buckets); the counts wait for the next exchange.
    if (this.#stats.exchanges === 0 && this.#stats.failures === 0 && this.#redis.status !== 'ready') {
      if (Date.now() < this.#connectDeadline) return;
    }
    const collected = this.#native.collectClusterCounts();
    this.#stats.limited = collected.limited;
    this.#stats.countsDropped = collected.countsDropped;
    this.#stats.memoryBytes = collected.memoryBytes;
    const { prefix } = this.#settings;
    const batch: Array<{ key: string; args: [string, number, number, number] }> = [];
    for (const [ruleIndex, key, count] of collected.counts) {
      const rule = this.#rules[ruleIndex];
      if (!rule?.cluster) continue; // a reload took the rule away
      batch.push({
        key,
        args: [`${prefix}${rule.name}:${key}`, count, Math.max(1, Math.round(rule.rate * 1000)), rule.burst],
      });
    }
    try {
      const blocks: Array<[string, number]> = [];
      if (batch.length === 0) {
        await this.#redis.ping(); // degraded: tells when Redis is back; else keeps the gap honest
      } else {
        const pipeline = this.#redis.pipeline() as ReturnType<Redis['pipeline']> & {
          takeTokens(keyCount: number, ...args: Array<string | number>): unknown;
        };
        for (let i = 0; i < batch.length; i += keysPerCall) {
          const part = batch.slice(i, i + keysPerCall);
          pipeline.takeTokens(
            part.length,
            ...part.map((entry) => entry.args[0]),
            ...part.flatMap((entry) => entry.args.slice(1) as number[]),
          );
        }
        const replies = (await pipeline.exec()) ?? [];
        replies.forEach(([error, waits], call) => {
          if (error) throw error;
          (waits as number[]).forEach((waitMs, i) => {
            const entry = batch[call * keysPerCall + i];
            if (entry && waitMs > 0) blocks.push([entry.key, waitMs]);
          });
        });
      }
      if (this.#stopped) return;
      const installed = this.#native.setClusterBlocks(blocks, false);
      this.#stats.blockedKeys = installed.blocked;
      this.#stats.blocksDropped += installed.dropped;
      this.#stats.exchanges += 1;
      if (this.#lastSuccessStart > 0) {
        this.#stats.maxExchangeGapMs = Math.max(this.#stats.maxExchangeGapMs, started - this.#lastSuccessStart);
      }
      this.#lastSuccessStart = started;
      if (this.#stats.degraded) {
        this.#stats.degraded = false;
        this.#events.restored();
      }
    } catch (cause) {
      if (this.#stopped) return;
      this.#stats.failures += 1;
      this.#stats.lastError = cause instanceof Error ? cause.message : String(cause);
      this.#lastSuccessStart = 0;
      this.#native.setClusterBlocks([], true);
      this.#stats.blockedKeys = 0;
      if (!this.#stats.degraded) {
        this.#stats.degraded = true;
        this.#events.degraded(this.#stats.lastError);
      }
    }
  }
}
