// `lb-native validate FILE`: reads and validates a configuration file without starting
// anything. Prints `ok: N backends, mode M` and exits 0, or one line per problem on
// stderr and exits 2. Host names are not resolved and discovery is not queried.
import { ConfigFileError, loadConfigFile } from '../config/file.js';
import type { ValidateArgs } from './args.js';
import { exitCodes } from './exit-codes.js';

export async function runValidate(args: ValidateArgs): Promise<number> {
  try {
    const { config } = await loadConfigFile(args.file);
    const count = config.backends?.length ?? 0;
    const discovery = config.discovery ? `, ${config.discovery.dns ? 'dns' : 'etcd'} discovery` : '';
    process.stdout.write(`ok: ${count} backend${count === 1 ? '' : 's'}, mode ${config.mode}${discovery}\n`);
    return exitCodes.ok;
  } catch (error) {
    if (!(error instanceof ConfigFileError)) throw error;
    for (const line of error.lines) process.stderr.write(`${line}\n`);
    return exitCodes.usage;
  }
}
