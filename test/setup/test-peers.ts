// The table of the programs the suites drive (test/setup/test-peers.txt): reading it, the
// rows a set of test files needs, and which of them this machine lacks. Used by the global
// setup (provision.ts); scripts/install-test-peers.sh reads the same table.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const defaultTablePath = join(repoRoot, 'test', 'setup', 'test-peers.txt');
export const installScript = join(repoRoot, 'scripts', 'install-test-peers.sh');

export interface TestPeer {
  /** A command looked up on PATH, or an absolute path that must exist. */
  program: string;
  /** Debian packages that provide it. */
  packages: string[];
  /** Test files or folders (repository-relative), or `bench`. */
  suites: string[];
}

/** Parses the table's text; throws naming the line of a malformed row. */
export function parsePeerTable(text: string, file = 'test-peers.txt'): TestPeer[] {
  const peers: TestPeer[] = [];
  text.split('\n').forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const [program, packages, ...suites] = trimmed.split(/\s+/);
    if (program === undefined || packages === undefined || suites.length === 0) {
      throw new Error(`${file}:${index + 1}: expected "program packages suite...", got '${trimmed}'`);
    }
    peers.push({ program, packages: packages.split(','), suites });
  });
  return peers;
}

export function readPeerTable(path = defaultTablePath): TestPeer[] {
  return parsePeerTable(readFileSync(path, 'utf8'), path);
}

/** True when one path is the other or a folder holding it. */
function related(a: string, b: string): boolean {
  const x = a.replace(/\/+$/, '');
  const y = b.replace(/\/+$/, '');
  return x === y || y.startsWith(`${x}/`) || x.startsWith(`${y}/`);
}

/** The rows some of `files` (absolute, or relative to the repository) need. */
export function peersFor(peers: readonly TestPeer[], files: readonly string[]): TestPeer[] {
  const relativeFiles = files.map((file) => (isAbsolute(file) ? relative(repoRoot, file) : file).split(sep).join('/'));
  return peers.filter((peer) => peer.suites.some((suite) => relativeFiles.some((file) => related(suite, file))));
}

/** Where a program is, as the tests will look for it (PATH; absolute paths as they are). */
export function locate(program: string, path = process.env.PATH ?? ''): string | undefined {
  if (isAbsolute(program)) return existsSync(program) ? program : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export interface MissingPeer {
  peer: TestPeer;
  /** Installed, but in a folder that is not on PATH (sbin, for a user other than root). */
  offPath?: string;
}

export function missingPeers(peers: readonly TestPeer[], path = process.env.PATH ?? ''): MissingPeer[] {
  const missing: MissingPeer[] = [];
  for (const peer of peers) {
    if (locate(peer.program, path) !== undefined) continue;
    const offPath = isAbsolute(peer.program)
      ? undefined
      : ['/usr/sbin', '/sbin'].find((dir) => existsSync(join(dir, peer.program)));
    missing.push(offPath === undefined ? { peer } : { peer, offPath });
  }
  return missing;
}

/** One line per missing program, each with the command that makes it available. */
export function describeMissing(missing: readonly MissingPeer[]): string[] {
  return missing.map(({ peer, offPath }) => {
    const name = peer.program;
    const forWhat = `needed by ${peer.suites.join(', ')}`;
    if (offPath !== undefined) {
      return `${name}: installed in ${offPath}, which is not on PATH (${forWhat}): PATH="$PATH:${offPath}" npm test`;
    }
    return `${name}: missing (${forWhat}): sudo apt-get install --no-install-recommends ${peer.packages.join(' ')}`;
  });
}
