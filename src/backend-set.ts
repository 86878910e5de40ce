// The balancer's backends as they are now: the configured ones, then those added live,
// each with an id that never changes or gets reused; those being removed until every
// worker has let go of them; and which workers have reported a draining backend drained.
import { addressKey } from './config/address.js';
import type { BackendConfig, BackendState } from './config/schema.js';
import { publicUrlOf } from './config/to-native.js';
import { LbConfigError } from './errors.js';
import type { BackendRef } from './events.js';
import type { BackendHealth, BackendStatus } from './stats.js';

/** One backend in the set. */
export interface BackendEntry {
  readonly id: number;
  config: BackendConfig;
  /** The numeric address the data path uses; '' until resolved. */
  host: string;
  health: BackendHealth;
  healthReason: string | undefined;
  /** Workers that reported it drained, since it last left 'ready' (or began to be removed). */
  drain: DrainTracker | undefined;
}

/** Which workers reported a backend drained; complete once all have. */
export class DrainTracker {
  readonly #workers = new Set<number>();
  /** 'backend-drained' was emitted for this drain. */
  announced = false;

  /** Records a worker's report; true when this report completes the set of `workers`. */
  report(worker: number, workers: number): boolean {
    if (this.complete(workers)) return false;
    this.#workers.add(worker);
    return this.complete(workers);
  }

  complete(workers: number): boolean {
    return this.#workers.size >= workers;
  }
}

/** A backend on its way out: no longer configured, maybe still serving in-flight requests. */
export interface Removal {
  entry: BackendEntry;
  /** Settles `removeBackend`'s promise. */
  resolve: (status: BackendStatus) => void;
  done: Promise<BackendStatus>;
}

/** What a worker's 'backend-drained' report completed, if anything. */
export type DrainOutcome =
  { kind: 'drained'; entry: BackendEntry; state: 'drain' | 'maint' } | { kind: 'removed'; removal: Removal } | undefined;

export class BackendSet {
  readonly #entries = new Map<number, BackendEntry>();
  readonly #removing = new Map<number, Removal>();
  #nextId = 0;

  /** The configured backends get ids 0, 1, ... in order. */
  constructor(backends: readonly BackendConfig[]) {
    for (const config of backends) this.add(config, '');
  }

  /** Current backends, in id order. */
  list(): BackendEntry[] {
    return [...this.#entries.values()];
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Backends given to `removeBackend` whose workers have not all let go yet. */
  removals(): Removal[] {
    return [...this.#removing.values()];
  }

  /**
   * The backend `idOrAddress` names: an id, or an address as configured (`host:port`,
   * compared like the options compare duplicates). Throws LbConfigError at path `backend`.
   */
  find(idOrAddress: number | string): BackendEntry {
    if (typeof idOrAddress === 'number') {
      const entry = this.#entries.get(idOrAddress);
      if (entry) return entry;
    } else if (typeof idOrAddress === 'string') {
      const key = addressKey(idOrAddress);
      for (const entry of this.#entries.values()) {
        if (entry.config.address.text === idOrAddress || addressKey(entry.config.address) === key) return entry;
      }
    }
    const known = this.list()
      .slice(0, 10)
      .map((e) => `#${e.id} ${e.config.address.text}`)
      .join(', ');
    const what = typeof idOrAddress === 'number' ? `id ${idOrAddress}` : `'${String(idOrAddress)}'`;
    throw new LbConfigError([
      {
        path: 'backend',
        message: `no backend ${what}; expected the id or address of one of: ${known}${this.size > 10 ? ', ...' : ''}`,
      },
    ]);
  }

  /** The backend with the same address as `config`, if any. */
  duplicateOf(config: BackendConfig): BackendEntry | undefined {
    const key = addressKey(config.address);
    return this.list().find((e) => addressKey(e.config.address) === key);
  }

  /** Adds a backend with the next id. The caller checked it is not a duplicate. */
  add(config: BackendConfig, host: string): BackendEntry {
    const entry: BackendEntry = {
      id: this.#nextId,
      config,
      host,
      health: 'unchecked',
      healthReason: undefined,
      drain: undefined,
    };
    this.#nextId += 1;
    this.#entries.set(entry.id, entry);
    return entry;
  }

  /** Takes a backend back out that `add` just put in (an update the data path refused). */
  undoAdd(entry: BackendEntry): void {
    this.#entries.delete(entry.id);
  }

  /**
   * Sets a backend's state. Leaving 'ready' starts counting drained workers; going back to
   * 'ready' forgets them; drain <-> maint keeps counting (neither takes new requests).
   */
  setState(entry: BackendEntry, state: BackendState): void {
    const before = entry.config.state;
    entry.config = { ...entry.config, state };
    if (state === 'ready') entry.drain = undefined;
    else if (before === 'ready' || !entry.drain) entry.drain = new DrainTracker();
  }

  /**
   * Moves a backend to the removing list. Workers that already reported it drained (it was
   * draining) still count: they have nothing in flight on it and take nothing new.
   */
  beginRemove(entry: BackendEntry): Removal {
    this.#entries.delete(entry.id);
    entry.drain ??= new DrainTracker();
    let resolve!: (status: BackendStatus) => void;
    const done = new Promise<BackendStatus>((r) => (resolve = r));
    const removal: Removal = { entry, resolve, done };
    this.#removing.set(entry.id, removal);
    return removal;
  }

  /** Puts a backend back whose removal the data path refused. */
  undoRemove(removal: Removal): void {
    this.#removing.delete(removal.entry.id);
    this.#entries.set(removal.entry.id, removal.entry);
    // Keep id order: re-insert everything after it.
    for (const [id, entry] of [...this.#entries]) {
      if (id > removal.entry.id) {
        this.#entries.delete(id);
        this.#entries.set(id, entry);
      }
    }
  }

  /** Ends a removal (all workers drained, or the balancer stopped). */
  finishRemove(removal: Removal): void {
    this.#removing.delete(removal.entry.id);
  }

  /** Records a worker's 'backend-drained' report and says what it completed. */
  reportDrained(id: number, worker: number, workers: number): DrainOutcome {
    const removal = this.#removing.get(id);
    if (removal) {
      return removal.entry.drain?.report(worker, workers) ? { kind: 'removed', removal } : undefined;
    }
    const entry = this.#entries.get(id);
    const state = entry?.config.state;
    if (!entry || !entry.drain || state === undefined || state === 'ready') return undefined;
    if (!entry.drain.report(worker, workers) || entry.drain.announced) return undefined;
    entry.drain.announced = true;
    return { kind: 'drained', entry, state };
  }

  /** A reference for events: current backends and those being removed; unknown ids get a placeholder. */
  ref(id: number): BackendRef {
    const entry = this.#entries.get(id) ?? this.#removing.get(id)?.entry;
    return entry ? refOf(entry) : { id, address: `#${id}`, host: '', port: 0 };
  }
}

export function refOf(entry: BackendEntry): BackendRef {
  const { address } = entry.config;
  return { id: entry.id, address: address.text, host: entry.host, port: address.port };
}

export function statusOf(entry: BackendEntry, mode: 'http' | 'redirect' | 'tcp'): BackendStatus {
  const status: BackendStatus = {
    ...refOf(entry),
    weight: entry.config.weight,
    state: entry.config.state,
    health: entry.health,
  };
  if (entry.health === 'down' && entry.healthReason !== undefined) status.healthReason = entry.healthReason;
  if (mode === 'redirect') status.publicUrl = publicUrlOf(entry.config);
  if ((entry.config.maxConnections ?? 0) > 0) status.maxConnections = entry.config.maxConnections;
  return status;
}
