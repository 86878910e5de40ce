// HAProxy's rise/fall hysteresis for one backend: `fall` failed checks in a row take a
// healthy backend down, `rise` passed checks in a row bring a down one back. A single
// result never flips the state unless rise or fall is 1.

export type HealthTransition = 'up' | 'down' | undefined;

export class RiseFall {
  #healthy: boolean;
  #passes = 0;
  #failures = 0;

  constructor(
    readonly rise: number,
    readonly fall: number,
    healthy = true,
  ) {
    this.#healthy = healthy;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Records one check; returns the transition it caused, if any. */
  record(ok: boolean): HealthTransition {
    if (ok) {
      this.#failures = 0;
      this.#passes += 1;
      if (!this.#healthy && this.#passes >= this.rise) {
        this.#healthy = true;
        return 'up';
      }
    } else {
      this.#passes = 0;
      this.#failures += 1;
      if (this.#healthy && this.#failures >= this.fall) {
        this.#healthy = false;
        return 'down';
      }
    }
    return undefined;
  }
}
