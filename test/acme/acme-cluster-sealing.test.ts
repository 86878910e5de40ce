// The private keys put in etcd by an ACME cluster (src/acme/sealed-key.ts): AES-256-GCM
// under the operator's key, bound to the name they belong to. A wrong key, a changed byte
// or another name is refused with an error saying so; nothing half-decrypted comes out.
import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { SealedKeyError, openKey, sealKey } from '../../src/acme/sealed-key.js';

const keyPem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

function refusal(attempt: () => unknown): SealedKeyError {
  try {
    attempt();
  } catch (error) {
    if (error instanceof SealedKeyError) return error;
    throw error;
  }
  throw new Error('expected a SealedKeyError');
}

/** Flips one bit of the byte at `index` of a base64 part of the sealed text. */
function flipped(sealed: string, part: number, index = 0): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part] ?? '', 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 1;
  parts[part] = bytes.toString('base64');
  return parts.join('.');
}

describe('sealed private keys', () => {
  const key = randomBytes(32);

  it('opens with the same key and name, and seals with a fresh IV each time', () => {
    const sealed = sealKey(keyPem, key, 'shop.test');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(openKey(sealed, key, 'shop.test')).toBe(keyPem);
    const again = sealKey(keyPem, key, 'shop.test');
    expect(again).not.toBe(sealed);
    expect(openKey(again, key, 'shop.test')).toBe(keyPem);
  });

  it('refuses another cluster key', () => {
    const sealed = sealKey(keyPem, key, 'shop.test');
    const error = refusal(() => openKey(sealed, randomBytes(32), 'shop.test'));
    expect(error.message).toBe(
      'the sealed key for shop.test does not open: the cluster key differs from the one that sealed it, the data was changed, or it was sealed for another name',
    );
  });

  it('refuses a changed ciphertext, IV or tag', () => {
    const sealed = sealKey(keyPem, key, 'shop.test');
    for (const part of [1, 2, 3]) {
      expect(refusal(() => openKey(flipped(sealed, part, 5), key, 'shop.test')).message).toContain('does not open');
    }
  });

  it('refuses a key sealed for another name (the domain is associated data)', () => {
    const sealed = sealKey(keyPem, key, 'shop.test');
    expect(refusal(() => openKey(sealed, key, 'other.test')).message).toContain('the sealed key for other.test does not open');
  });

  it('refuses text that is not a sealed key, and a cluster key of the wrong size', () => {
    expect(refusal(() => openKey('not sealed', key, 'shop.test')).message).toBe(
      'the sealed key for shop.test is not in the v1.<iv>.<tag>.<ciphertext> form',
    );
    const sealed = sealKey(keyPem, key, 'shop.test');
    const shortIv = sealed.replace(/^v1\.[^.]+/, `v1.${Buffer.alloc(4).toString('base64')}`);
    expect(refusal(() => openKey(shortIv, key, 'shop.test')).message).toBe(
      'the sealed key for shop.test has a 4-byte IV and a 16-byte tag, expected 12 and 16',
    );
    expect(refusal(() => sealKey(keyPem, randomBytes(16), 'shop.test')).message).toBe('the cluster key must be 32 bytes, got 16');
  });
});
