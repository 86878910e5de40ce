// Bearer-token authentication for the admin API. The token is compared in constant time:
// both sides are hashed first, so the comparison is over equal-length digests and reveals
// neither the token's length nor how much of it matched. The token is never logged.
import { createHash, timingSafeEqual } from 'node:crypto';

import { LbConfigError } from '../errors.js';

export type AuthResult = 'ok' | 'missing' | 'invalid';

export interface BearerAuth {
  /** Checks an `Authorization` header value. */
  check(authorization: string | undefined): AuthResult;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Validates `admin.token` (a non-empty string of visible ASCII, as a header value must be)
 * and returns its checker. Throws LbConfigError at `admin.token`.
 */
export function createBearerAuth(token: string): BearerAuth {
  if (typeof token !== 'string' || token.length === 0) {
    throw new LbConfigError([{ path: 'admin.token', message: 'expected a non-empty string' }]);
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    // The message must not echo the token.
    throw new LbConfigError([
      { path: 'admin.token', message: 'must be visible ASCII characters only (no spaces or control characters)' },
    ]);
  }
  const expected = digest(token);
  return {
    check(authorization) {
      if (authorization === undefined) return 'missing';
      const match = /^Bearer +(\S+) *$/i.exec(authorization);
      if (!match?.[1]) return 'invalid';
      return timingSafeEqual(digest(match[1]), expected) ? 'ok' : 'invalid';
    },
  };
}
