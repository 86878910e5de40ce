// Session ticket keys for a TLS listener, made here (the control plane) and pushed to the
// addon, which installs them in every worker: a ticket sealed by one worker resumes on any
// other. The newest key seals new tickets; the `keepPrevious` keys before it still open
// tickets issued before a rotation, so a rotation never forces a full handshake on a client
// whose ticket is younger than `keepPrevious` rotations. A ticket older than that gets a
// full handshake (and a new ticket). Keys live only in memory; a restart makes new ones.
import { randomBytes } from 'node:crypto';

/** One key as the addon reads it: a 16-byte name, a 32-byte HMAC key, a 32-byte AES key. */
export const ticketKeyBytes = 80;

/** The defaults: a new key every 12 hours, the two before it still accepted (Caddy's and Go's practice is 12-24 h). */
export const defaultTicketRotateSeconds = 43_200;
export const defaultTicketKeepPrevious = 2;

export interface TicketKeySchedule {
  /** Seconds between rotations. */
  rotateSeconds: number;
  /** Earlier keys still accepted for resumption after a rotation. */
  keepPrevious: number;
}

export class TicketKeyRotation {
  readonly #install: (keys: Buffer) => void;
  #schedule: TicketKeySchedule;
  #keys: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;
  #rotations = 0;

  /** `install` receives the keys, newest first, concatenated (what `setTicketKeys` takes). */
  constructor(schedule: TicketKeySchedule, install: (keys: Buffer) => void) {
    this.#schedule = schedule;
    this.#install = install;
  }

  /** Makes the first key, installs it and starts the schedule. */
  start(): void {
    this.rotate();
    this.#rotations = 0;
    this.#arm();
  }

  /** A new schedule (a reload); the keys in use stay, the next rotation is one new interval away. */
  reschedule(schedule: TicketKeySchedule): void {
    const dropped = schedule.keepPrevious < this.#schedule.keepPrevious;
    this.#schedule = schedule;
    if (dropped) {
      this.#keys = this.#keys.slice(0, schedule.keepPrevious + 1);
      this.#install(Buffer.concat(this.#keys));
    }
    if (this.#timer) this.#arm();
  }

  /** A new current key now; the oldest beyond `keepPrevious` is forgotten. */
  rotate(): void {
    this.#keys = [randomBytes(ticketKeyBytes), ...this.#keys].slice(0, this.#schedule.keepPrevious + 1);
    this.#install(Buffer.concat(this.#keys));
    this.#rotations += 1;
  }

  /** Rotations since start (the first key does not count). */
  get rotations(): number {
    return this.#rotations;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const key of this.#keys) key.fill(0);
    this.#keys = [];
  }

  #arm(): void {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      try {
        this.rotate();
      } catch {
        // The addon refused the keys (stopped meanwhile): the next tick or stop() settles it.
      }
    }, this.#schedule.rotateSeconds * 1000);
    this.#timer.unref();
  }
}
