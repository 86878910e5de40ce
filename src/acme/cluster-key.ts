// The operator's cluster key file (tls.acme.cluster.keyFile): exactly 32 bytes, mode 0600
// (the owner only), the same file on every balancer. It seals the private keys put in etcd
// (sealed-key.ts) and never goes there itself.
import { readFile, stat } from 'node:fs/promises';

import { clusterKeyBytes } from './sealed-key.js';

/** Why the file cannot serve as the cluster key, or undefined when it can. */
export async function clusterKeyProblem(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return `expected a file of ${clusterKeyBytes} bytes, got ${JSON.stringify(path)}: not a regular file`;
    const mode = info.mode & 0o777;
    if (mode !== 0o600) {
      return `expected a key file with mode 0600 (readable by its owner only), got ${JSON.stringify(path)} with mode 0${mode.toString(8)}`;
    }
    if (info.size !== clusterKeyBytes) {
      return `expected a key file of ${clusterKeyBytes} bytes (e.g. head -c 32 /dev/urandom), got ${JSON.stringify(path)} with ${info.size} bytes`;
    }
    await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    return `expected a key file of ${clusterKeyBytes} bytes, mode 0600, got ${JSON.stringify(path)}: ${code ?? String(error)}`;
  }
  return undefined;
}

/** Reads the key; throws an Error carrying clusterKeyProblem's message when it is not fit. */
export async function readClusterKey(path: string): Promise<Buffer> {
  const problem = await clusterKeyProblem(path);
  if (problem) throw new Error(problem);
  return readFile(path);
}
