// Waiting on conditions instead of sleeping: every wait is bounded and says what it waited for.

/** Resolves after `ms` milliseconds. Only for pacing writes, never for synchronising with the proxy. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `intervalMs` until it returns a truthy value, which is returned.
 * Rejects with `what` in the message when `timeoutMs` passes first.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 5_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const suffix = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`);
    }
    await delay(intervalMs);
  }
}

/**
 * Waits driven by events instead of polling, for state that changes when something
 * happens (bytes arrive, a socket closes): the owner calls `notify()` on every change and
 * `until` checks again then, so a read returns as soon as its bytes are in.
 */
export class ChangeSignal {
  #waiters: Array<() => void> = [];

  /** Something changed: every pending `until` checks again. */
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves with the first value `check` returns that is not undefined (`check` may
   * throw, which rejects). After `timeoutMs` rejects with `timeoutError()`.
   */
  async until<T>(check: () => T | undefined, timeoutMs: number, timeoutError: () => Error): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw timeoutError();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Rejects with a message naming `what` if `promise` has not settled within `timeoutMs`. */
export function withTimeout<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The opposite of waitUntil: polls `happened` every `intervalMs` for `ms` and rejects,
 * naming `what` and when, as soon as it returns a truthy value (or throws). Resolves once
 * `ms` have passed quietly. For "X must not happen", e.g. no request reaches a backend
 * while a timer that should not fire has had time to.
 */
export async function expectQuietFor(
  what: string,
  ms: number,
  happened: () => unknown,
  { intervalMs = 10 }: { intervalMs?: number } = {},
): Promise<void> {
  const started = Date.now();
  const deadline = started + ms;
  for (;;) {
    const value = await happened();
    if (value) {
      throw new Error(`${what} happened after ${Date.now() - started} ms (expected nothing for ${ms} ms): ${String(value)}`);
    }
    const left = deadline - Date.now();
    if (left <= 0) return;
    await delay(Math.min(intervalMs, left));
  }
}
