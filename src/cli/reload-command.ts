// `lb-native reload`: asks a running lb-native to re-read its configuration file
// (POST /reload on its admin API) and prints what changed, or why it was refused.
// Exit 0 when applied; 1 when refused or the admin API cannot be reached.
import { AdminUnreachableError, adminRequest, errorMessage } from './admin-client.js';
import type { ReloadArgs } from './args.js';
import { exitCodes } from './exit-codes.js';

export async function runReload(args: ReloadArgs): Promise<number> {
  let response;
  try {
    response = await adminRequest(args, 'POST', '/reload', 60_000);
  } catch (error) {
    if (!(error instanceof AdminUnreachableError)) throw error;
    process.stderr.write(`lb-native: ${error.message}\n`);
    return exitCodes.failure;
  }
  if (response.status === 200) {
    const changes = (response.body as { changes?: unknown }).changes;
    const lines = Array.isArray(changes) ? changes.map(String) : [];
    process.stdout.write(`reloaded: ${lines.length === 0 ? 'no changes' : `${lines.length} change${lines.length === 1 ? '' : 's'}`}\n`);
    for (const line of lines) process.stdout.write(`  ${line}\n`);
    return exitCodes.ok;
  }
  const errors = (response.body as { error?: { errors?: unknown } } | undefined)?.error?.errors;
  if (response.status === 400 && Array.isArray(errors)) {
    process.stderr.write('lb-native: reload refused; the running configuration is unchanged:\n');
    for (const line of errors) process.stderr.write(`  ${String(line)}\n`);
  } else {
    process.stderr.write(`lb-native: reload failed: ${errorMessage(response)}\n`);
  }
  return exitCodes.failure;
}
