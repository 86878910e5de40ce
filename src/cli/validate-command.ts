// `lb-native validate FILE`: reads and validates a configuration file without starting
// anything, and resolves the host names it names (listen, backends, admin.listen) as start
// would. Prints `ok: N backends, mode M` and exits 0, or one line per problem (file, line,
// path) on stderr and exits 2. Discovery sources are not queried; the ACME section's
// storage folder is created (0700) and written to, the ACME server is not contacted.
import { checkAcmeConfig } from '../acme/acme-checks.js';
import { ConfigFileError, loadConfigFile, resolveFileHosts } from '../config/file.js';
import type { ValidateArgs } from './args.js';
import { exitCodes } from './exit-codes.js';

export async function runValidate(args: ValidateArgs): Promise<number> {
  try {
    const loaded = await loadConfigFile(args.file);
    await resolveFileHosts(loaded);
    const { config } = loaded;
    const acme = config.tls?.acme;
    if (acme) {
      const problems = await checkAcmeConfig(acme);
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
    const count = config.backends?.length ?? 0;
    const discovery = config.discovery ? `, ${config.discovery.dns ? 'dns' : 'etcd'} discovery` : '';
    const certificates = acme ? `, acme for ${acme.domains.join(' ')}` : '';
    process.stdout.write(`ok: ${count} backend${count === 1 ? '' : 's'}, mode ${config.mode}${discovery}${certificates}\n`);
    return exitCodes.ok;
  } catch (error) {
    if (!(error instanceof ConfigFileError)) throw error;
    for (const line of error.lines) process.stderr.write(`${line}\n`);
    return exitCodes.usage;
  }
}
