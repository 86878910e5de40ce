// The modules under src/ import one another in one direction only: no module reaches
// itself again through its imports (src/health/ once had probe.ts <-> http-probe.ts).
// Read from the sources as written: relative `import ... from` and `export ... from`.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each file's relative imports (type-only ones too: they tie the modules together just the same). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)'/gms)].map((m) =>
      resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, as `a.ts -> b.ts -> a.ts`. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') {
        found.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(srcDir, f)).join(' -> '));
      } else if (state.get(next) === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file);
  return found;
}

describe('src/ import graph', () => {
  it('reads every module and its imports', () => {
    const graph = importGraph(sourceFiles(srcDir));
    // The walk sees the tree: the entry and its balancer, and the health probes' imports.
    expect(graph.get(join(srcDir, 'index.ts'))).toContain(join(srcDir, 'balancer.ts'));
    expect(graph.get(join(srcDir, 'health', 'http-probe.ts'))).toContain(join(srcDir, 'health', 'probe-target.ts'));
  });

  it('has no cycle', () => {
    expect(cycles(importGraph(sourceFiles(srcDir)))).toEqual([]);
  });
});
