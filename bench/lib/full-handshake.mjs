// Builds wrk-full-handshake.c (the LD_PRELOAD shim that stops wrk resuming TLS sessions)
// into a private temp dir, once per run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCapture } from './procs.mjs';

const SOURCE = fileURLToPath(new URL('./wrk-full-handshake.c', import.meta.url));

/** @type {Promise<string> | null} */
let built = null;

/**
 * The shim's path (compiled on the first call).
 * @returns {Promise<string>}
 */
export function fullHandshakeShim() {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbbench-shim-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'wrk-full-handshake.so');
    const r = await runCapture('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-o', out, SOURCE], { timeoutMs: 30000 });
    if (r.code !== 0) throw new Error(`cc ${SOURCE} failed (exit ${r.code}): ${`${r.out}${r.err}`.trim().slice(0, 300)}`);
    return out;
  })();
  return built;
}
