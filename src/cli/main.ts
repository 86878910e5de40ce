#!/usr/bin/env node
// The `lb-native` command. Usage errors print one line on stderr and exit 2; runtime
// failures exit 1; a graceful stop exits 0.
import { readFileSync } from 'node:fs';

import { LbUsageError } from '../errors.js';
import { parseArgs } from './args.js';
import { commandHelpText, helpText } from './help.js';
import { exitCodes } from './exit-codes.js';

function packageVersion(): string {
  // dist/cli/main.js and src/cli/main.ts are both two levels below the package root.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof LbUsageError)) throw error;
    process.stderr.write(`lb-native: ${error.message}\n`);
    return exitCodes.usage;
  }
  switch (args.command) {
    case 'help':
      process.stdout.write(args.topic === undefined ? helpText(packageVersion()) : commandHelpText(args.topic, packageVersion()));
      return exitCodes.ok;
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return exitCodes.ok;
    // Each command loads what it needs, no more: a usage error or `top` starts fast.
    case 'start':
      // `pidof lb-native` and `kill -HUP $(pidof lb-native)` find the balancer, not "node".
      process.title = 'lb-native';
      return (await import('./start-command.js')).runStart(args);
    case 'validate':
      return (await import('./validate-command.js')).runValidate(args);
    case 'reload':
      return (await import('./reload-command.js')).runReload(args);
    case 'top':
      return (await import('./top-command.js')).runTop(args);
    case 'certs':
      return (await import('./certs-command.js')).runCerts(args);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `lb-native: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(exitCodes.failure);
  },
);
