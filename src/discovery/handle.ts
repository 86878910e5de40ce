// What every discovery source returns: the last good backend set, 'update' and 'error'
// events, and stop(). Sources (dns-discovery.ts, etcd-discovery.ts) extend it.
import { EventEmitter } from 'node:events';

import type { DiscoveryError } from '../errors.js';
import { deliverToListeners } from '../deliver-to-listeners.js';
import type { DiscoveredBackend } from './discovered-backend.js';

/** Payload of 'update': a discovered set was applied to the balancer. */
export interface DiscoveryUpdate {
  /** The discovered set now in force. */
  backends: DiscoveredBackend[];
  /** Addresses added to the balancer. */
  added: string[];
  /** Addresses whose removal (drain, then remove) started. */
  removed: string[];
  /** Addresses whose weight or state changed. */
  changed: string[];
}

export interface DiscoveryEventMap {
  update: [DiscoveryUpdate];
  error: [DiscoveryError];
}

/** A running discovery: follow its events, read its last good set, stop it. */
export abstract class Discovery {
  readonly #emitter = new EventEmitter<DiscoveryEventMap>();
  #current: DiscoveredBackend[] = [];
  #errors = 0;
  #lastError: DiscoveryError | undefined;
  #ready: Promise<void>;
  #markReady!: () => void;

  constructor() {
    this.#ready = new Promise<void>((resolve) => (this.#markReady = resolve));
  }

  /** Settles once the first attempt is over (applied or failed); never rejects. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** The last discovered set that was applied; empty before the first one. */
  current(): DiscoveredBackend[] {
    return this.#current.map((b) => ({ ...b }));
  }

  /** Errors so far (emitted or not: an 'error' event nobody listens to is only counted). */
  get errors(): number {
    return this.#errors;
  }

  get lastError(): DiscoveryError | undefined {
    return this.#lastError;
  }

  /** Stops following the source. Backends stay as they are. Idempotent. */
  abstract stop(): Promise<void>;

  on<E extends keyof DiscoveryEventMap>(event: E, listener: (...args: DiscoveryEventMap[E]) => void): this {
    this.#emitter.on(event, listener as never);
    return this;
  }

  once<E extends keyof DiscoveryEventMap>(event: E, listener: (...args: DiscoveryEventMap[E]) => void): this {
    this.#emitter.once(event, listener as never);
    return this;
  }

  off<E extends keyof DiscoveryEventMap>(event: E, listener: (...args: DiscoveryEventMap[E]) => void): this {
    this.#emitter.off(event, listener as never);
    return this;
  }

  protected markReady(): void {
    this.#markReady();
  }

  protected applied(update: DiscoveryUpdate): void {
    this.#current = update.backends.map((b) => ({ ...b }));
    deliverToListeners(() => this.#emitter.emit('update', update));
  }

  protected failed(error: DiscoveryError): void {
    this.#errors += 1;
    this.#lastError = error;
    if (this.#emitter.listenerCount('error') > 0) deliverToListeners(() => this.#emitter.emit('error', error));
  }
}
