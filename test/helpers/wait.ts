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
