// `lb-native reload`: asks a running lb-native to re-read its configuration file
// (POST /reload on its admin API), waits for the outcome, and prints what changed, or why
// it was refused. With --config FILE the admin API's address and token are the file's
// (what the systemd unit's ExecReload uses, so that a refused reload fails
// `systemctl reload`). Exit 0 when applied; 1 when refused or the admin API cannot be asked.
import { formatAddress, parseAddress } from '../config/address.js';
import { ConfigFileError, loadConfigFile } from '../config/file.js';
import { AdminUnreachableError, adminRequest, errorMessage } from './admin-client.js';
import type { AdminTarget, ReloadArgs } from './args.js';
import { exitCodes } from './exit-codes.js';

const refusedHeadline = 'lb-native: reload refused; the running configuration is unchanged:\n';

/** The admin API `file` names; throws ConfigFileError when the file cannot be used, or names no reachable admin API. */
async function targetOf(file: string): Promise<AdminTarget> {
  const { config } = await loadConfigFile(file);
  const admin = config.admin;
  if (!admin) {
    throw new ConfigFileError(file, [
      {
        path: 'admin',
        message: 'missing: reload --config asks the admin API the file names (admin.listen); add one, or send SIGHUP instead',
      },
    ]);
  }
  const parsed = parseAddress(admin.listen, { allowPortZero: true });
  if (!parsed.ok || parsed.address.port === 0) {
    throw new ConfigFileError(file, [
      {
        path: 'admin.listen',
        message: `port 0 (any free port) cannot be found again: give a fixed port to reload --config, got '${admin.listen}'`,
      },
    ]);
  }
  // A wildcard listener is reached on loopback.
  const { host, port } = parsed.address;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return { admin: formatAddress(reachable, port), token: admin.token };
}

export async function runReload(args: ReloadArgs): Promise<number> {
  let target: AdminTarget = args;
  if (args.configFile !== undefined) {
    try {
      target = await targetOf(args.configFile);
    } catch (error) {
      if (!(error instanceof ConfigFileError)) throw error;
      // The running lb-native would refuse this file as well: it is not asked.
      process.stderr.write(refusedHeadline);
      for (const line of error.lines) process.stderr.write(`  ${line}\n`);
      return exitCodes.failure;
    }
  }
  let response;
  try {
    response = await adminRequest(target, 'POST', '/reload', 60_000);
  } catch (error) {
    if (!(error instanceof AdminUnreachableError)) throw error;
    process.stderr.write(`lb-native: ${error.message}\n`);
    return exitCodes.failure;
  }
  if (response.status === 200) {
    const changes = (response.body as { changes?: unknown }).changes;
    const lines = Array.isArray(changes) ? changes.map(String) : [];
    process.stdout.write(
      `reloaded: ${lines.length === 0 ? 'no changes' : `${lines.length} change${lines.length === 1 ? '' : 's'}`}\n`,
    );
    for (const line of lines) process.stdout.write(`  ${line}\n`);
    return exitCodes.ok;
  }
  const errors = (response.body as { error?: { errors?: unknown } } | undefined)?.error?.errors;
  if (response.status === 400 && Array.isArray(errors)) {
    process.stderr.write(refusedHeadline);
    for (const line of errors) process.stderr.write(`  ${String(line)}\n`);
  } else {
    process.stderr.write(`lb-native: reload failed: ${errorMessage(response)}\n`);
  }
  return exitCodes.failure;
}
