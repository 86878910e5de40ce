// A temporary folder for one test file's configuration files, removed after its last test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export interface ConfigFiles {
  /** The folder. */
  readonly dir: string;
  /** Writes `lines`, one a line, to `name` in the folder (replacing it); returns its path. */
  write(name: string, lines: readonly string[]): string;
}

/** A new folder named after `prefix` (e.g. 'lb-validate-') in the system's temporary folder. */
export function configFiles(prefix: string): ConfigFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(name, lines) {
      const path = join(dir, name);
      writeFileSync(path, `${lines.join('\n')}\n`);
      return path;
    },
  };
}
