// A small, strict reader of the Prometheus text exposition format 0.0.4, for checking
// what GET /metrics serves: it throws on the first malformed line, on a family whose
// HELP/TYPE are missing, repeated or after its samples, on samples of one family that are
// not together, on duplicate series, and on histograms whose buckets are not cumulative
// or whose `+Inf` bucket differs from `_count`.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function fail(lineNo: number, line: string, why: string): never {
  throw new Error(`line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** Label set `{a="x",b="y"}` starting at `text[0] === '{'`; returns the labels and the rest. */
function parseLabels(text: string, lineNo: number, line: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === '}') return [labels, text.slice(i + 1)];
    const eq = text.indexOf('=', i);
    if (eq === -1) fail(lineNo, line, 'label without =');
    const name = text.slice(i, eq);
    if (!labelName.test(name)) fail(lineNo, line, `bad label name '${name}'`);
    if (name in labels) fail(lineNo, line, `label '${name}' twice`);
    if (text[eq + 1] !== '"') fail(lineNo, line, 'label value not quoted');
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) fail(lineNo, line, 'unterminated label value');
      if (c === '"') break;
      if (c === '\n') fail(lineNo, line, 'raw newline in label value');
      if (c === '\\') {
        const next = text[j + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else fail(lineNo, line, `bad escape \\${next ?? ''}`);
        j += 2;
      } else {
        value += c;
        j += 1;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') fail(lineNo, line, "expected ',' or '}' after a label");
  }
}

function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix)) {
      const family = families.get(sampleName.slice(0, -suffix.length));
      if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family;
    }
  }
  return undefined;
}

export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const seen = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line === '') fail(lineNo, line, 'empty line');
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!match) fail(lineNo, line, 'comment that is neither HELP nor TYPE');
      const [, kind, name = '', rest = ''] = match;
      if (!metricName.test(name)) fail(lineNo, line, 'bad metric name');
      if (closed.has(name)) fail(lineNo, line, 'family seen again after other families');
      let family = families.get(name);
      if (family && family.samples.length > 0) fail(lineNo, line, `${kind ?? ''} after samples`);
      if (!family) {
        if (current) closed.add(current.name);
        family = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, family);
        current = family;
      }
      if (kind === 'HELP') {
        if (family.help !== '') fail(lineNo, line, 'second HELP');
        if (/\\(?![\\n])/.test(rest)) fail(lineNo, line, 'bad escape in HELP');
        family.help = rest;
      } else {
        if (family.type !== 'untyped') fail(lineNo, line, 'second TYPE');
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) fail(lineNo, line, 'bad type');
        family.type = rest as Family['type'];
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) fail(lineNo, line, 'bad sample name');
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest, lineNo, line);
    const valueMatch = /^ (\S+)$/.exec(rest);
    if (!valueMatch?.[1]) fail(lineNo, line, 'expected one space and a value (no timestamp)');
    const value = parseValue(valueMatch[1]);
    if (value === undefined) fail(lineNo, line, 'bad value');
    const family = familyOf(name, families);
    if (!family) fail(lineNo, line, 'sample without a HELP/TYPE family');
    if (family !== current) fail(lineNo, line, `sample of ${family.name} not with its family`);
    if (family.help === '' || family.type === 'untyped') fail(lineNo, line, 'family lacks HELP or TYPE');
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail(lineNo, line, 'duplicate series');
    seen.add(key);
    if (family.type === 'counter' && (value < 0 || !Number.isFinite(value)))
      fail(lineNo, line, 'counter not a finite value >= 0');
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** Buckets per series: `le` increasing, counts cumulative, ending at `+Inf` equal to `_count`; `_sum` present. */
function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      const bound = parseValue(le);
      if (bound === undefined || Number.isNaN(bound)) throw new Error(`${family.name}: bad le '${le}'`);
      entry.buckets.push([bound, s.value]);
    } else if (s.name === `${family.name}_sum`) entry.sum = s.value;
    else if (s.name === `${family.name}_count`) entry.count = s.value;
    else throw new Error(`${family.name}: unexpected sample ${s.name}`);
  }
  for (const [key, { buckets, sum, count }] of series) {
    const where = `${family.name}${key}`;
    if (buckets.length === 0) throw new Error(`${where}: no buckets`);
    for (let i = 1; i < buckets.length; i += 1) {
      const [le, c] = buckets[i]!;
      const [prevLe, prevC] = buckets[i - 1]!;
      if (!(le > prevLe)) throw new Error(`${where}: le not increasing (${prevLe} then ${le})`);
      if (c < prevC) throw new Error(`${where}: buckets not cumulative (${prevC} then ${c})`);
    }
    const last = buckets[buckets.length - 1]!;
    if (last[0] !== Infinity) throw new Error(`${where}: last bucket is not +Inf`);
    if (count === undefined || sum === undefined) throw new Error(`${where}: missing _sum or _count`);
    if (last[1] !== count) throw new Error(`${where}: +Inf bucket ${last[1]} != _count ${count}`);
  }
}

/** The value of the one sample named `name` whose labels include `labels`. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
}
