// When to renew a certificate and when to try again after a failure: pure functions of
// times in milliseconds, so the manager's timers have one place that decides them.

/** Renewal starts at two thirds of the lifetime (Let's Encrypt's advice: 60 of 90 days). */
export const renewalFraction = 2 / 3;
/** `certificate-expiring` is raised with this many days or fewer left. */
export const expiringDays = 14;

export interface Validity {
  notBefore: number;
  notAfter: number;
}

export function renewalTime(validity: Validity, fraction = renewalFraction): number {
  return validity.notBefore + (validity.notAfter - validity.notBefore) * fraction;
}

const dayMs = 86_400_000;

/** Whole and partial days until `notAfter` (negative once expired). */
export function daysLeft(notAfter: number, now: number): number {
  return (notAfter - now) / dayMs;
}

export interface Backoff {
  /** The first wait after a failure. */
  minMs: number;
  /** The longest wait. */
  maxMs: number;
}

export const defaultBackoff: Backoff = { minMs: 60_000, maxMs: 6 * 3_600_000 };

/**
 * The wait before attempt `failures + 1` after `failures` failures in a row (1, 2, ...):
 * doubling from `minMs`, capped at `maxMs`, with up to a quarter taken off at random so
 * that balancers that failed together do not retry together.
 */
export function retryDelay(failures: number, backoff: Backoff, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const full = Math.min(backoff.minMs * 2 ** exponent, backoff.maxMs);
  return Math.round(full * (1 - random() * 0.25));
}
