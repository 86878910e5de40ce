// Lists the C++ sources of the addon for binding.gyp, so that adding a file to a
// native/ folder needs no edit to the build files (CMakeLists.txt globs the same folders).
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const folders = [
  'reactor',
  'net',
  'buffer',
  'http1',
  'http2',
  'tls',
  'balancing',
  'protection',
  'upstream',
  'proxy',
  'stats',
  'runtime',
  'addon',
];
const files = [];
for (const folder of folders) {
  for (const name of readdirSync(join(root, 'native', folder)).sort()) {
    if (name.endsWith('.cpp')) files.push(`native/${folder}/${name}`);
  }
}
process.stdout.write(files.join(' '));
