// The native folders are floors (README, "Architecture"): a folder includes headers of its
// own folder and of the folders below it, never of one above. Read from the sources as
// written: every `#include "folder/..."` in native/<folder>/. Tests and fuzzers sit
// outside the house and may include anything.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const nativeDir = fileURLToPath(new URL('../../native/', import.meta.url));

/** What each folder may include besides itself. */
const mayInclude: Record<string, readonly string[]> = {
  reactor: [],
  net: ['reactor'],
  buffer: [],
  stats: [],
  http1: ['buffer'],
  // http2 translates to and from http1's head types (a sibling on floor 1).
  http2: ['http1', 'buffer'],
  tls: [],
  balancing: ['net', 'stats'],
  protection: ['http1', 'buffer', 'stats'],
  // upstream keeps each backend's TLS client context and its last session (tls is floor 1).
  upstream: ['balancing', 'tls', 'reactor', 'net', 'stats'],
  proxy: ['upstream', 'balancing', 'protection', 'http1', 'http2', 'tls', 'reactor', 'net', 'buffer', 'stats'],
  runtime: ['proxy', 'upstream', 'balancing', 'protection', 'http1', 'http2', 'tls', 'reactor', 'net', 'buffer', 'stats'],
  addon: [
    'runtime',
    'proxy',
    'upstream',
    'balancing',
    'protection',
    'http1',
    'http2',
    'tls',
    'reactor',
    'net',
    'buffer',
    'stats',
  ],
};
const outsideTheHouse = new Set(['tests', 'fuzz']);

function includesOf(folder: string): Array<{ file: string; target: string }> {
  return readdirSync(join(nativeDir, folder))
    .filter((name) => name.endsWith('.h') || name.endsWith('.cpp'))
    .flatMap((name) => {
      const text = readFileSync(join(nativeDir, folder, name), 'utf8');
      return [...text.matchAll(/^#include "([a-z0-9_]+)\/[^"]+"/gm)].map((m) => ({ file: `${folder}/${name}`, target: m[1]! }));
    });
}

describe('native layers', () => {
  it('every native folder has a floor', () => {
    const folders = readdirSync(nativeDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !outsideTheHouse.has(entry.name))
      .map((entry) => entry.name)
      .sort();
    expect(folders).toEqual(Object.keys(mayInclude).sort());
  });

  it('no folder includes a header from a folder above it', () => {
    const upward = Object.keys(mayInclude).flatMap((folder) =>
      includesOf(folder)
        .filter(({ target }) => target !== folder && !mayInclude[folder]!.includes(target))
        .map(({ file, target }) => `${file} includes ${target}/`),
    );
    expect(upward).toEqual([]);
  });
});
