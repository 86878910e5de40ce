#!/usr/bin/env node
// Joins the raw JSON of several bench runs into one table and chart: a set of scenarios
// measured in pieces (each run kept short on a shared machine) reported as one run. Each
// scenario's rows come from the run that measured it; the header lists every command.
//   node bench/merge-results.mjs --out=latest-h2 results/raw/A.json results/raw/B.json ...
// writes bench/results/<out>.md and <out>.svg.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdown, summarize, svgChart } from './lib/report.mjs';

/** @typedef {import('./lib/report.mjs').BenchResults} BenchResults */

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

let out = '';
/** @type {string[]} */
const files = [];
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--out=')) out = a.slice('--out='.length);
  else files.push(a);
}
if (!/^[\w.-]+$/.test(out) || files.length === 0) {
  console.error('usage: node bench/merge-results.mjs --out=NAME RAW.json [RAW.json ...]  (writes bench/results/NAME.md|svg)');
  process.exit(2);
}

/** @type {BenchResults[]} */
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const first = /** @type {BenchResults} */ (runs[0]);
/** @type {BenchResults} */
const merged = {
  ...first,
  meta: {
    ...first.meta,
    date: /** @type {BenchResults} */ (runs.at(-1)).meta.date,
    command: runs.map((r) => r.meta.command).join(' ; '),
    reps: Math.max(...runs.map((r) => r.meta.reps)),
    elapsedSec: runs.reduce((a, r) => a + (r.meta.elapsedSec ?? 0), 0),
  },
  proxyOrder: [...new Set(runs.flatMap((r) => r.proxyOrder))],
  proxyStatus: Object.assign({}, ...runs.map((r) => r.proxyStatus)),
  scenarios: [],
  cells: {},
  runs: [],
  strace: [],
  memory: [],
  probes: {},
  notes: [],
  logs: {},
};
for (const r of runs) {
  for (const sc of r.scenarios) {
    if (merged.scenarios.some((s) => s.id === sc.id)) {
      console.error(`merge-results: scenario ${sc.id} is in more than one run; each scenario must come from one run`);
      process.exit(2);
    }
    merged.scenarios.push(sc);
  }
  Object.assign(merged.cells, r.cells);
  Object.assign(merged.probes, r.probes);
  merged.runs.push(...r.runs);
  merged.strace.push(...r.strace);
  merged.memory.push(...r.memory);
  for (const n of r.notes) if (!merged.notes.includes(n)) merged.notes.push(n);
}
const rows = summarize(merged);
const base = join(RESULTS_DIR, out);
writeFileSync(`${base}.md`, markdown(merged, rows).replace('(latest.svg)', `(${basename(base)}.svg)`));
writeFileSync(`${base}.svg`, svgChart(merged, rows));
console.log(`wrote bench/results/${out}.md and ${out}.svg from ${files.length} run(s)`);
