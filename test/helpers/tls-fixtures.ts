// Test certificates made with the `openssl` command line at test time, in a temporary
// directory: a CA (or an intermediate), and leaf certificates with the names, key type
// and validity a test asks for. Nothing here is ever committed; the keys are test-only.
//
//   const tls = await createTlsFixtures({ names: ['localhost'], ips: ['127.0.0.1'] });
//   tls.ca.certFile, tls.rsa.keyFile, tls.ecdsa.chainFile, ...
//   const expired = await tls.issue({ names: ['old.test'], notBefore: ..., notAfter: ... });
//   await tls.cleanup();
//
// A test file that shares one set for all its tests takes it from useTlsFixtures()
// (use-tls-fixtures.ts), which makes and removes it around the file.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type FixtureKeyType = 'rsa' | 'ecdsa';

export interface FixtureCa {
  readonly name: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  /** The certificates above this one, nearest first (empty for a root). */
  readonly parents: readonly FixtureCa[];
}

export interface FixtureCertificate {
  /** The leaf alone. */
  readonly certFile: string;
  /** The leaf followed by its intermediates (what a server presents). */
  readonly chainFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly chainPem: string;
  readonly keyPem: string;
}

export interface IssueOptions {
  /** The issuing CA; the fixture's root CA when left out. */
  readonly issuer?: FixtureCa;
  readonly names?: readonly string[];
  readonly ips?: readonly string[];
  readonly commonName?: string;
  readonly keyType?: FixtureKeyType;
  readonly rsaBits?: number;
  /** Validity; by default from an hour ago for `days` (30) days. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly days?: number;
  /** A client certificate (clientAuth) instead of a server one. */
  readonly clientAuth?: boolean;
  /** File name stem; a counter when left out. */
  readonly fileName?: string;
}

export interface TlsFixtures {
  readonly dir: string;
  /** The root CA every default certificate chains to. */
  readonly ca: FixtureCa;
  /** RSA (2048) and ECDSA (P-256) leaves for the names given to createTlsFixtures. */
  readonly rsa: FixtureCertificate;
  readonly ecdsa: FixtureCertificate;
  /** Another root CA, or an intermediate below `issuer`. */
  makeCa(name: string, options?: { issuer?: FixtureCa; notBefore?: Date; notAfter?: Date }): Promise<FixtureCa>;
  issue(options: IssueOptions): Promise<FixtureCertificate>;
  cleanup(): Promise<void>;
}

const caConfig = `
[ca]
default_ca = lb_test_ca
[lb_test_ca]
database = index.txt
new_certs_dir = .
rand_serial = yes
default_md = sha256
policy = lb_test_policy
unique_subject = no
email_in_dn = no
copy_extensions = none
[lb_test_policy]
commonName = supplied
[req]
distinguished_name = lb_test_dn
prompt = no
[lb_test_dn]
CN = unused
[root_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

// openssl ca's date format: YYYYMMDDHHMMSSZ.
function caDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

export async function createTlsFixtures(
  options: { names?: readonly string[]; ips?: readonly string[] } = {},
): Promise<TlsFixtures> {
  const dir = await mkdtemp(join(tmpdir(), 'lb-tls-fixtures-'));
  await writeFile(join(dir, 'ca.cnf'), caConfig);
  await writeFile(join(dir, 'index.txt'), '');
  let counter = 0;

  async function makeKey(stem: string, keyType: FixtureKeyType, rsaBits = 2048): Promise<string> {
    const keyFile = join(dir, `${stem}.key`);
    const algorithm =
      keyType === 'rsa'
        ? ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${rsaBits}`]
        : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    await openssl(dir, ['genpkey', ...algorithm, '-out', keyFile]);
    return keyFile;
  }

  // Signs `stem`.csr with `issuer`, with the given extensions and validity.
  async function sign(
    stem: string,
    issuer: FixtureCa,
    extensions: string,
    validity: { notBefore?: Date; notAfter?: Date; days?: number },
  ): Promise<string> {
    const certFile = join(dir, `${stem}.pem`);
    const extFile = join(dir, `${stem}.ext`);
    await writeFile(extFile, extensions);
    const notBefore = validity.notBefore ?? new Date(Date.now() - 3_600_000);
    const notAfter = validity.notAfter ?? new Date(notBefore.getTime() + (validity.days ?? 30) * 86_400_000);
    await openssl(dir, [
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-notext',
      '-cert',
      issuer.certFile,
      '-keyfile',
      issuer.keyFile,
      '-in',
      join(dir, `${stem}.csr`),
      '-out',
      certFile,
      '-extfile',
      extFile,
      '-startdate',
      caDate(notBefore),
      '-enddate',
      caDate(notAfter),
    ]);
    return certFile;
  }

  async function request(stem: string, keyFile: string, commonName: string): Promise<void> {
    await openssl(dir, [
      'req',
      '-new',
      '-config',
      'ca.cnf',
      '-key',
      keyFile,
      '-subj',
      `/CN=${commonName}`,
      '-out',
      join(dir, `${stem}.csr`),
    ]);
  }

  async function makeCa(
    name: string,
    caOptions: { issuer?: FixtureCa; notBefore?: Date; notAfter?: Date } = {},
  ): Promise<FixtureCa> {
    const stem = `ca-${++counter}`;
    const keyFile = await makeKey(stem, 'ecdsa');
    let certFile: string;
    if (caOptions.issuer) {
      await request(stem, keyFile, name);
      certFile = await sign(
        stem,
        caOptions.issuer,
        'basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n',
        { notBefore: caOptions.notBefore, notAfter: caOptions.notAfter, days: 3650 },
      );
    } else {
      certFile = join(dir, `${stem}.pem`);
      await openssl(dir, [
        'req',
        '-x509',
        '-config',
        'ca.cnf',
        '-extensions',
        'root_ext',
        '-key',
        keyFile,
        '-subj',
        `/CN=${name}`,
        '-days',
        '3650',
        '-out',
        certFile,
      ]);
    }
    const parents = caOptions.issuer ? [caOptions.issuer, ...caOptions.issuer.parents] : [];
    return { name, certFile, keyFile, certPem: await readFile(certFile, 'utf8'), parents };
  }

  const ca = await makeCa('lb-native test root CA');

  async function issue(issueOptions: IssueOptions): Promise<FixtureCertificate> {
    const issuer = issueOptions.issuer ?? ca;
    const stem = issueOptions.fileName ?? `leaf-${++counter}`;
    const keyType = issueOptions.keyType ?? 'ecdsa';
    const keyFile = await makeKey(stem, keyType, issueOptions.rsaBits);
    const names = issueOptions.names ?? [];
    const ips = issueOptions.ips ?? [];
    await request(stem, keyFile, issueOptions.commonName ?? names[0] ?? ips[0] ?? stem);
    const alternatives = [...names.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)];
    const extensions = [
      'basicConstraints = critical,CA:FALSE',
      `keyUsage = critical,${keyType === 'rsa' ? 'digitalSignature,keyEncipherment' : 'digitalSignature'}`,
      `extendedKeyUsage = ${issueOptions.clientAuth ? 'clientAuth' : 'serverAuth'}`,
      'authorityKeyIdentifier = keyid',
      ...(alternatives.length > 0 ? [`subjectAltName = ${alternatives.join(',')}`] : []),
    ].join('\n');
    const certFile = await sign(stem, issuer, `${extensions}\n`, issueOptions);
    const certPem = await readFile(certFile, 'utf8');
    // The chain a server presents: the leaf and every intermediate, not the root.
    const intermediates = [issuer, ...issuer.parents].filter((c) => c.parents.length > 0);
    const chainPem = certPem + intermediates.map((c) => c.certPem).join('');
    const chainFile = join(dir, `${stem}-chain.pem`);
    await writeFile(chainFile, chainPem);
    return { certFile, chainFile, keyFile, certPem, chainPem, keyPem: await readFile(keyFile, 'utf8') };
  }

  const names = options.names ?? ['localhost'];
  const ips = options.ips ?? ['127.0.0.1'];
  const rsa = await issue({ names, ips, keyType: 'rsa', fileName: 'rsa' });
  const ecdsa = await issue({ names, ips, keyType: 'ecdsa', fileName: 'ecdsa' });

  return {
    dir,
    ca,
    rsa,
    ecdsa,
    makeCa,
    issue,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
