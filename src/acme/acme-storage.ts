// The ACME storage folder: the account key per directory URL and, per certificate, its
// chain and private key. Folders are 0700 and files 0600 whatever the umask (a folder that
// exists with wider permissions is narrowed); files are written whole to a temporary name
// and renamed, so a crash leaves the old file or the new one, never half of one.
import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const folderMode = 0o700;
export const fileMode = 0o600;

/** What `lb-native certs` shows: the names and the chain, not the key. */
export interface StoredCertificateInfo {
  domains: string[];
  certPem: string;
}

export interface StoredCertificate {
  /** The names the certificate was ordered for, the first one naming its folder. */
  domains: string[];
  /** The leaf certificate followed by its chain, PEM. */
  certPem: string;
  keyPem: string;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** A certificate's folder name: its first domain, which the schema keeps to [a-z0-9.-]. */
function certificateFolder(domains: readonly string[]): string {
  const first = domains[0];
  if (first === undefined || !/^[a-z0-9.-]+$/.test(first)) throw new Error(`not a storable certificate name: ${first}`);
  return first;
}

export class AcmeStorage {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  async #folder(...parts: string[]): Promise<string> {
    let path = this.root;
    for (const part of ['', ...parts]) {
      path = part === '' ? path : join(path, part);
      await mkdir(path, { recursive: true, mode: folderMode });
      await chmod(path, folderMode);
    }
    return path;
  }

  async #write(folder: string, name: string, contents: string): Promise<void> {
    const final = join(folder, name);
    const temporary = `${final}.tmp-${process.pid}`;
    const handle = await open(temporary, 'w', fileMode);
    try {
      await handle.chmod(fileMode);
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, final);
  }

  async #read(...parts: string[]): Promise<string | undefined> {
    try {
      return await readFile(join(this.root, ...parts), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Account keys are per directory: another ACME server is another account. */
  #accountFolderName(directory: string): string {
    return createHash('sha256').update(directory).digest('hex').slice(0, 16);
  }

  async readAccountKey(directory: string): Promise<string | undefined> {
    return this.#read('accounts', this.#accountFolderName(directory), 'key.pem');
  }

  async writeAccount(directory: string, email: string, keyPem: string): Promise<void> {
    const folder = await this.#folder('accounts', this.#accountFolderName(directory));
    await this.#write(folder, 'key.pem', keyPem);
    await this.#write(folder, 'account.json', `${JSON.stringify({ directory, email }, null, 2)}\n`);
  }

  async readCertificate(domains: readonly string[]): Promise<StoredCertificate | undefined> {
    const folder = certificateFolder(domains);
    const [certPem, keyPem, namesText] = await Promise.all([
      this.#read('certificates', folder, 'certificate.pem'),
      this.#read('certificates', folder, 'private-key.pem'),
      this.#read('certificates', folder, 'domains.json'),
    ]);
    if (certPem === undefined || keyPem === undefined || namesText === undefined) return undefined;
    return { domains: JSON.parse(namesText) as string[], certPem, keyPem };
  }

  /** Key first, certificate last: a certificate on disk always has its key beside it. */
  async writeCertificate(certificate: StoredCertificate): Promise<void> {
    const folder = await this.#folder('certificates', certificateFolder(certificate.domains));
    await this.#write(folder, 'private-key.pem', certificate.keyPem);
    await this.#write(folder, 'domains.json', `${JSON.stringify(certificate.domains)}\n`);
    await this.#write(folder, 'certificate.pem', certificate.certPem);
  }

  /** Every stored certificate (for `lb-native certs`). */
  async listCertificates(): Promise<StoredCertificateInfo[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, 'certificates'));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const found: StoredCertificateInfo[] = [];
    for (const name of names.sort()) {
      const certPem = await this.#read('certificates', name, 'certificate.pem');
      const namesText = await this.#read('certificates', name, 'domains.json');
      if (certPem === undefined || namesText === undefined) continue;
      found.push({ domains: JSON.parse(namesText) as string[], certPem });
    }
    return found;
  }

  /** Creates the folder (0700) and writes and removes a probe file: throws if it cannot. */
  async checkWritable(): Promise<void> {
    const folder = await this.#folder();
    const probe = join(folder, `.write-check-${process.pid}`);
    const handle = await open(probe, 'w', fileMode);
    await handle.close();
    await rm(probe);
  }
}
