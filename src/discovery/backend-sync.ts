// Makes a balancer's backends match a discovered set, through the balancer's public
// live-control API only: new addresses are added (addBackend), vanished ones are drained
// and removed (removeBackend, as the runtime API does), and weight or state changes are
// applied (setWeight, setBackendState). Adds go first, so the pool never runs empty.
import { addressKey } from '../config/address.js';
import type { Balancer } from '../balancer.js';
import type { BackendStatus } from '../stats.js';
import type { DiscoveredBackend } from './discovered-backend.js';

/** The part of a Balancer a sync drives; a Balancer is one. */
export type SyncTarget = Pick<Balancer, 'addBackend' | 'removeBackend' | 'backends' | 'setWeight' | 'setBackendState'>;

export interface BackendSyncOptions {
  /**
   * Which of the balancer's backends discovery may remove or change.
   * - 'all' (default): the discovered set is the whole pool; any backend not in it (the
   *   ones the balancer was created with included) is drained and removed.
   * - 'discovered': only backends whose address was in a discovered set; fixed backends
   *   added some other way are left alone.
   */
  owns?: 'all' | 'discovered';
}

/** What `planSync` decided. */
export interface SyncPlan {
  add: DiscoveredBackend[];
  remove: Array<{ id: number; address: string }>;
  update: Array<{ id: number; address: string; weight?: number; state?: DiscoveredBackend['state'] }>;
}

/** What one `apply` did. */
export interface SyncResult {
  added: string[];
  removed: string[];
  changed: string[];
  /** Adds, removals or changes the balancer refused; the rest was applied. */
  errors: Error[];
  /** Settles when every removal started by this apply has drained. */
  drained: Promise<void>;
}

/**
 * The changes that turn `current` into `desired`. Addresses are compared by `addressKey`;
 * a desired address listed twice counts once (the first). `managed` says which current
 * backends may be removed or changed.
 */
export function planSync(
  current: readonly BackendStatus[],
  desired: readonly DiscoveredBackend[],
  managed: (backend: BackendStatus) => boolean = () => true,
): SyncPlan {
  const wanted = new Map<string, DiscoveredBackend>();
  for (const backend of desired) {
    const key = addressKey(backend.address);
    if (!wanted.has(key)) wanted.set(key, backend);
  }
  const present = new Map(current.map((b) => [addressKey(b.address), b]));
  const plan: SyncPlan = { add: [], remove: [], update: [] };
  for (const [key, backend] of wanted) {
    const existing = present.get(key);
    if (!existing) {
      plan.add.push(backend);
      continue;
    }
    if (!managed(existing)) continue;
    const change: SyncPlan['update'][number] = { id: existing.id, address: existing.address };
    if (backend.weight !== undefined && backend.weight !== existing.weight) change.weight = backend.weight;
    if (backend.state !== undefined && backend.state !== existing.state) change.state = backend.state;
    if (change.weight !== undefined || change.state !== undefined) plan.update.push(change);
  }
  for (const [key, existing] of present) {
    if (!wanted.has(key) && managed(existing)) plan.remove.push({ id: existing.id, address: existing.address });
  }
  return plan;
}

/** Applies discovered sets to one balancer, one at a time, in the order given. */
export class BackendSync {
  readonly #target: SyncTarget;
  readonly #owns: 'all' | 'discovered';
  /** Address keys that were in a discovered set ('discovered' mode). */
  readonly #seen = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(target: SyncTarget, options: BackendSyncOptions = {}) {
    this.#target = target;
    this.#owns = options.owns ?? 'all';
  }

  /**
   * Makes the balancer's backends match `desired`. Never leaves the pool empty: an empty
   * set changes nothing (and says so in `errors`), and nothing is removed unless at least
   * one desired backend is in the balancer once the adds are done. Never rejects.
   */
  apply(desired: readonly DiscoveredBackend[]): Promise<SyncResult> {
    const run = this.#queue.then(() => this.#apply(desired));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(desired: readonly DiscoveredBackend[]): Promise<SyncResult> {
    const result: SyncResult = { added: [], removed: [], changed: [], errors: [], drained: Promise.resolve() };
    if (desired.length === 0) {
      result.errors.push(new Error('the discovered set is empty; keeping the current backends'));
      return result;
    }
    for (const backend of desired) this.#seen.add(addressKey(backend.address));
    const managed = (b: BackendStatus): boolean => this.#owns === 'all' || this.#seen.has(addressKey(b.address));
    const plan = planSync(this.#target.backends(), desired, managed);

    for (const backend of plan.add) {
      try {
        const options: { address: string; weight?: number; state?: DiscoveredBackend['state'] } = { address: backend.address };
        if (backend.weight !== undefined) options.weight = backend.weight;
        if (backend.state !== undefined) options.state = backend.state;
        await this.#target.addBackend(options);
        result.added.push(backend.address);
      } catch (error) {
        result.errors.push(asError(error, `cannot add ${backend.address}`));
      }
    }

    for (const change of plan.update) {
      try {
        if (change.weight !== undefined) this.#target.setWeight(change.id, change.weight);
        if (change.state !== undefined) this.#target.setBackendState(change.id, change.state);
        result.changed.push(change.address);
      } catch (error) {
        result.errors.push(asError(error, `cannot change ${change.address}`));
      }
    }

    if (plan.remove.length > 0) {
      const wanted = new Set(desired.map((b) => addressKey(b.address)));
      const anyPresent = this.#target.backends().some((b) => wanted.has(addressKey(b.address)));
      if (!anyPresent) {
        result.errors.push(new Error('none of the discovered backends could be added; keeping the current ones'));
        return result;
      }
      const refused = new Map<string, Error>();
      const drains = plan.remove.map(({ id, address }) =>
        this.#target.removeBackend(id).then(
          () => undefined,
          (error: unknown) => void refused.set(address, asError(error, `cannot remove ${address}`)),
        ),
      );
      // A refusal (say, the last backend) rejects at once; a drain takes its time.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (const { address } of plan.remove) {
        const error = refused.get(address);
        if (error) result.errors.push(error);
        else result.removed.push(address);
      }
      result.drained = Promise.all(drains).then(() => undefined);
    }
    return result;
  }
}

function asError(error: unknown, context: string): Error {
  if (error instanceof Error) {
    return new Error(`${context}: ${error.message}`, { cause: error });
  }
  return new Error(`${context}: ${String(error)}`);
}
