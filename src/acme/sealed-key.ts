// A private key sealed for etcd: AES-256-GCM under the operator's cluster key (never in
// etcd), with what the key belongs to (a certificate's first domain, or an account's
// directory URL) as associated data, so a sealed key moved to another name is refused.
// Text form: `v1.<iv>.<tag>.<ciphertext>`, each part base64.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const clusterKeyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;
const version = 'v1';

export class SealedKeyError extends Error {
  override name = 'SealedKeyError';
}

function checkKey(key: Buffer): void {
  if (key.length !== clusterKeyBytes) {
    throw new SealedKeyError(`the cluster key must be ${clusterKeyBytes} bytes, got ${key.length}`);
  }
}

/** Seals `plaintext` (a PEM private key) for `boundTo`. A fresh random IV each time. */
export function sealKey(plaintext: string, key: Buffer, boundTo: string): string {
  checkKey(key);
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes });
  cipher.setAAD(Buffer.from(boundTo, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [version, iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join('.');
}

/**
 * Opens what sealKey made for `boundTo`. Throws SealedKeyError when the text is not a
 * sealed key, or when it does not open: GCM cannot tell a wrong cluster key from changed
 * bytes or another name, so the message names all three.
 */
export function openKey(sealed: string, key: Buffer, boundTo: string): string {
  checkKey(key);
  const parts = sealed.split('.');
  const [tag, iv, mac, data] = parts;
  if (parts.length !== 4 || tag !== version || iv === undefined || mac === undefined || data === undefined) {
    throw new SealedKeyError(`the sealed key for ${boundTo} is not in the ${version}.<iv>.<tag>.<ciphertext> form`);
  }
  const ivBuffer = Buffer.from(iv, 'base64');
  const macBuffer = Buffer.from(mac, 'base64');
  if (ivBuffer.length !== ivBytes || macBuffer.length !== tagBytes) {
    throw new SealedKeyError(
      `the sealed key for ${boundTo} has a ${ivBuffer.length}-byte IV and a ${macBuffer.length}-byte tag, expected ${ivBytes} and ${tagBytes}`,
    );
  }
  const decipher = createDecipheriv('aes-256-gcm', key, ivBuffer, { authTagLength: tagBytes });
  decipher.setAAD(Buffer.from(boundTo, 'utf8'));
  decipher.setAuthTag(macBuffer);
  try {
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new SealedKeyError(
      `the sealed key for ${boundTo} does not open: the cluster key differs from the one that sealed it, the data was changed, or it was sealed for another name`,
    );
  }
}
