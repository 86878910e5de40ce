// `lb-native validate FILE`: reads and validates a configuration file without starting
// anything, and resolves the host names it names (listen or listeners, backends,
// admin.listen) as start would. Prints `ok: N backends, mode M` and exits 0, or one line per problem (file, line,
// path) on stderr and exits 2. Discovery sources are not queried. A TLS listener's
// certificates are checked (src/tls/certificate-check.ts): the key matches, the chain is in
// order and complete, and each certificate's days left are printed. The ACME section's
// storage folder is created (0700) and written to; the ACME server is not contacted.
import { checkAcmeConfig } from '../acme/acme-checks.js';
import { acmeSectionPath } from '../config/acme-schema.js';
import { ConfigFileError, loadConfigFile, resolveFileHosts } from '../config/file.js';
import { type ListenerConfig, listenerPrefix } from '../config/schema.js';
import { checkCertificateFiles } from '../tls/certificate-check.js';
import type { ValidateArgs } from './args.js';
import { exitCodes } from './exit-codes.js';

export async function runValidate(args: ValidateArgs): Promise<number> {
  try {
    const loaded = await loadConfigFile(args.file);
    await resolveFileHosts(loaded);
    const { config } = loaded;
    const acme = config.acme;
    if (acme) {
      const problems = await checkAcmeConfig(acme, acmeSectionPath(config));
      if (problems.length > 0) {
        throw new ConfigFileError(
          args.file,
          problems.map((problem) => {
            const line = loaded.lineOf?.(problem.path);
            return { ...problem, ...(line === undefined ? {} : { line }) };
          }),
        );
      }
    }
    let certificateProblems = 0;
    const certificateFiles = config.listeners.flatMap((listener, l) =>
      (listener.tls?.certificates ?? []).map((files, index) => ({
        files,
        path: `${listenerPrefix(config, l)}tls.certificates[${index}]`,
      })),
    );
    for (const { files, path } of certificateFiles) {
      const check = await checkCertificateFiles({ certFile: files.cert, keyFile: files.key });
      const where = `${args.file}: ${path}`;
      for (const problem of check.problems) process.stderr.write(`${where}: ${problem}\n`);
      certificateProblems += check.problems.length;
      for (const c of check.certificates) {
        const names = [...c.dnsNames, ...c.ipAddresses].join(', ') || c.subject;
        const key = c.curve ?? `${c.keyType}${c.keyBits ? ` ${c.keyBits}` : ''}`;
        process.stdout.write(`${where}: [${c.index}] ${names} (${key}), ${c.daysLeft} days left\n`);
      }
    }
    if (certificateProblems > 0) return exitCodes.usage;
    const count = config.backends?.length ?? 0;
    const discovery = config.discovery ? `, ${config.discovery.dns ? 'dns' : 'etcd'} discovery` : '';
    const certificates = acme ? `, acme for ${acme.domains.join(' ')}` : '';
    const listeners = config.listeners.length === 1 ? '' : `, ${describeListeners(config.listeners)}`;
    process.stdout.write(
      `ok: ${count} backend${count === 1 ? '' : 's'}, mode ${config.mode}${listeners}${discovery}${certificates}\n`,
    );
    return exitCodes.ok;
  } catch (error) {
    if (!(error instanceof ConfigFileError)) throw error;
    for (const line of error.lines) process.stderr.write(`${line}\n`);
    return exitCodes.usage;
  }
}

/** `2 listeners: 0.0.0.0:80 (plain, redirects to https), 0.0.0.0:443 (tls, acme)`. */
function describeListeners(listeners: readonly ListenerConfig[]): string {
  const each = listeners.map((listener) => {
    const what = listener.tls
      ? ['tls', ...(listener.tls.acmeCertificate ? ['acme'] : [])].join(', ')
      : listener.httpsRedirect
        ? 'plain, redirects to https'
        : 'plain';
    return `${listener.listen.text} (${what})`;
  });
  return `${listeners.length} listeners: ${each.join(', ')}`;
}
