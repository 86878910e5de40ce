// Checks of the ACME section that need the machine, not just the values: the storage
// folder can be created (0700) and written, and a cluster's key file holds 32 bytes with
// mode 0600. The schema (config/acme-schema.ts) has
// already checked the names, e-mail and directory URL.
import type { AcmeConfig } from '../config/acme-schema.js';
import { AcmeStorage } from './acme-storage.js';
import { clusterKeyProblem } from './cluster-key.js';

export interface AcmeProblem {
  /** The option path, e.g. `tls.acme.storage`. */
  path: string;
  message: string;
}

export async function checkAcmeConfig(acme: AcmeConfig, path = 'tls.acme'): Promise<AcmeProblem[]> {
  const problems: AcmeProblem[] = [];
  try {
    await new AcmeStorage(acme.storage).checkWritable();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code ?? '';
    const reason = error instanceof Error ? error.message : String(error);
    problems.push({
      path: `${path}.storage`,
      message: `expected a folder lb-native can create and write (keys and certificates go there), got ${JSON.stringify(acme.storage)}: ${code || reason}`,
    });
  }
  if (acme.cluster) {
    const problem = await clusterKeyProblem(acme.cluster.keyFile);
    if (problem) problems.push({ path: `${path}.cluster.keyFile`, message: problem });
  }
  return problems;
}
