// The addon takes OpenSSL and nghttp2 from the node process that loads it (docs/tls.md,
// docs/http2.md): it is compiled against Debian's headers and links neither library, so
// a function node does not export would only show when the addon is loaded. These load
// it the strict way (every symbol resolved at load time) and check nghttp2's imports
// against what this node exports.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
// The addon an install loads: node-gyp's build, or else the prebuild (node-gyp-build's
// choice). Only it takes nghttp2 from node; the sanitizer builds link Debian's libnghttp2.
const installedAddon: string = (createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string }).path(
  packageRoot,
);
// And the addon this run loads (src/native.ts): the sanitizer runs name their build.
const loadedAddons = [...new Set([installedAddon, process.env.LB_NATIVE_ADDON ?? installedAddon])];

/** Dynamic symbols of an ELF file, as `nm -D` lists them (binutils comes with g++). */
function dynamicSymbols(file: string, which: '--defined-only' | '--undefined-only'): Set<string> {
  const result = spawnSync('nm', ['-D', which, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  expect(result.status, result.stderr).toBe(0);
  return new Set(
    result.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/).at(-1) ?? '')
      .filter((name) => name.length > 0),
  );
}

describe('addon imports', () => {
  it('loads with every symbol resolved at load time (LD_BIND_NOW)', () => {
    for (const addon of loadedAddons) {
      const result = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], {
        encoding: 'utf8',
        env: { ...process.env, LD_BIND_NOW: '1' },
      });
      expect(result.stderr, addon).toBe('');
      expect(result.status, addon).toBe(0);
    }
  });

  it('every nghttp2 function the addon calls is exported by node, and none of those node lacks', () => {
    const imported = [...dynamicSymbols(installedAddon, '--undefined-only')].filter((name) => name.startsWith('nghttp2_'));
    expect(imported.length).toBeGreaterThan(0);
    const exported = dynamicSymbols(process.execPath, '--defined-only');
    expect(imported.filter((name) => !exported.has(name))).toEqual([]);
    // In Debian's libnghttp2 but not exported by node 20 (docs/http2.md).
    for (const missing of ['nghttp2_version', 'nghttp2_select_next_protocol', 'nghttp2_set_debug_vprintf_callback']) {
      expect(imported).not.toContain(missing);
    }
  });
});
