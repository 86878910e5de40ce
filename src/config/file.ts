// Reading a configuration file: YAML (or JSON: a `.json` file must be strict JSON), with
// `${VAR}` / `${VAR:-default}` substituted in string values, then command-line overrides
// applied, then one validation by the file schema. Every problem is reported as
// `FILE:LINE: path: what was expected`, e.g.
// `lb.yaml:14: backends[2].address: port must be 1-65535, got 70000`, or in the words of
// the flag that set the value.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';

import { type Document, LineCounter, type Node, isMap, isScalar, isSeq, parseDocument } from 'yaml';

import { type ConfigIssue, LbConfigError, LbResolveError } from '../errors.js';
import { parseAddress, resolveHost } from './address.js';
import { coerceScalar, substitute } from './env.js';
import { type ConfigFile, configFileSchema } from './file-schema.js';
import { findJsonSyntaxError } from './json-syntax.js';
import { formatPath, listenerPrefix } from './schema.js';

/** Values set on the command line, which win over the file's. */
export interface ConfigOverrides {
  /** Shaped like the file (`{ listen, timeouts: { connectMs } }`); a `backends` list replaces the file's. */
  values: Record<string, unknown>;
  /** The message for an issue about a value a flag set, naming the flag; undefined for the file's values. */
  describe?: (issue: ConfigIssue) => string | undefined;
}

export interface LoadConfigOptions {
  /** Where `${VAR}` values come from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
}

/** A configuration file, read and validated. */
export interface LoadedConfig {
  /** The path as given. */
  file: string;
  /**
   * What was validated: the file's values, variables substituted, overrides applied.
   * Holds secrets (admin.token, etcd credentials): log `redactConfig(raw)`, never this.
   */
  raw: Record<string, unknown>;
  config: ConfigFile;
  /** The line (1-based) where an option path (`backends[1].address`) is written in the file, if it is. */
  lineOf?: (path: string) => number | undefined;
}

/** One problem in a configuration file. */
export interface ConfigFileProblem extends ConfigIssue {
  /** 1-based line in the file, when known. */
  line?: number;
  /** Set when a command-line flag set the value: the whole message, naming the flag. */
  flagMessage?: string;
}

/** A configuration file that cannot be used: `lines` has one message per problem. */
export class ConfigFileError extends LbConfigError {
  readonly file: string;
  readonly problems: readonly ConfigFileProblem[];
  readonly lines: readonly string[];

  constructor(file: string, problems: readonly ConfigFileProblem[], options?: ErrorOptions) {
    super(problems, options);
    this.file = file;
    this.problems = problems;
    this.lines = problems.map((p) => formatProblem(file, p));
    this.message = this.lines.join('\n');
  }
}

function formatProblem(file: string, problem: ConfigFileProblem): string {
  if (problem.flagMessage !== undefined) return problem.flagMessage;
  const where = problem.line === undefined ? file : `${file}:${problem.line}`;
  return problem.path === '' ? `${where}: ${problem.message}` : `${where}: ${problem.path}: ${problem.message}`;
}

/** Reads, substitutes, overrides and validates `file`. Throws ConfigFileError. */
export async function loadConfigFile(file: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : String(code ?? error);
    throw new ConfigFileError(file, [{ path: '', message: `cannot read the configuration file: ${reason}` }], { cause: error });
  }
  return parseConfigText(file, text, options);
}

/** As `loadConfigFile`, for text already read (`file` names it in messages and picks JSON by extension). */
export function parseConfigText(file: string, text: string, options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const lines = new LineCounter();
  const lineOf = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lines.linePos(offset).line;

  if (extname(file).toLowerCase() === '.json') {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new ConfigFileError(file, [jsonProblem(text, error)]);
    }
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      file,
      doc.errors.map((error) => {
        const line = lineOf(error.pos[0]);
        const message = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
        return { path: '', message: `not valid YAML: ${message}`, ...(line === undefined ? {} : { line }) };
      }),
    );
  }
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === ''))) {
    throw new ConfigFileError(file, [
      { path: '', message: 'the file is empty; expected a mapping of options (listen, backends, ...)' },
    ]);
  }
  if (!isMap(doc.contents)) {
    const line = lineOf(doc.contents.range?.[0]);
    throw new ConfigFileError(file, [
      {
        path: '',
        message: 'expected a mapping of options (listen, backends, ...) at the top level',
        ...(line === undefined ? {} : { line }),
      },
    ]);
  }

  const problems: ConfigFileProblem[] = [];
  substituteAll(doc.contents, [], env, (path, node, message) => {
    const line = lineOf(node.range?.[0]);
    problems.push({ path: formatPath(path), message, ...(line === undefined ? {} : { line }) });
  });
  if (problems.length > 0) throw new ConfigFileError(file, problems);

  const fromFile = doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown>;
  const raw = options.overrides ? mergeOverrides(fromFile, options.overrides.values) : fromFile;
  const parsed = configFileSchema.safeParse(raw);
  if (parsed.success) {
    return { file, raw, config: parsed.data, lineOf: (path) => lineOf(offsetOf(doc, parsePath(path))) };
  }

  const seen = new Set<string>();
  for (const issue of parsed.error.issues) {
    const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const path = formatPath(issue.path);
    if (seen.has(path)) continue;
    seen.add(path);
    const flagMessage = options.overrides?.describe?.({ path, message: issue.message });
    const line = lineOf(offsetOf(doc, unknownKey === undefined ? issue.path : [...issue.path, unknownKey]));
    const problem: ConfigFileProblem = { path, message: issue.message };
    if (flagMessage !== undefined) problem.flagMessage = flagMessage;
    else if (line !== undefined) problem.line = line;
    problems.push(problem);
  }
  // In the file's order; problems without a line (flags, the whole file) first.
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new ConfigFileError(file, problems);
}

/** Where JSON.parse stopped, as a problem with a line and one line of message. */
function jsonProblem(text: string, error: unknown): ConfigFileProblem {
  const found = findJsonSyntaxError(text);
  if (!found) {
    // Not expected (JSON.parse and the grammar disagree): V8's message, on one line.
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
    return { path: '', message: `not valid JSON: ${message}` };
  }
  const before = text.slice(0, found.offset);
  const line = before.split('\n').length;
  const column = found.offset - before.lastIndexOf('\n');
  return { path: '', message: `not valid JSON: ${found.message} (column ${column})`, line };
}

/** `backends[2].address` back to `['backends', 2, 'address']`. */
function parsePath(path: string): PropertyKey[] {
  return [...path.matchAll(/\[(\d+)\]|[^.[\]]+/g)].map((m) => (m[1] === undefined ? m[0] : Number(m[1])));
}

/**
 * Resolves every host name a loaded file names (listeners, backends, admin.listen) as start
 * will, all at once. Throws ConfigFileError with a problem (file, line, path) for each name
 * that does not resolve. Discovery sources are not queried.
 */
export async function resolveFileHosts(loaded: LoadedConfig): Promise<void> {
  const { config } = loaded;
  const names: Array<{ path: string; host: string }> = [];
  config.listeners.forEach((listener, i) => {
    const path = `${listenerPrefix(config, i)}listen`;
    if (listener.listen.kind === 'hostname') names.push({ path, host: listener.listen.host });
  });
  (config.backends ?? []).forEach((backend, i) => {
    if (backend.address.kind === 'hostname') names.push({ path: `backends[${i}].address`, host: backend.address.host });
  });
  const admin = config.admin ? parseAddress(config.admin.listen, { allowPortZero: true }) : undefined;
  if (admin?.ok && admin.address.kind === 'hostname') names.push({ path: 'admin.listen', host: admin.address.host });
  const settled = await Promise.allSettled(names.map(({ host, path }) => resolveHost(host, path)));
  const problems: ConfigFileProblem[] = [];
  settled.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    const { path, host } = names[i]!;
    const reason = result.reason instanceof LbResolveError ? result.reason.reason : String(result.reason);
    const line = loaded.lineOf?.(path);
    problems.push({ path, message: `cannot resolve '${host}' (${reason})`, ...(line === undefined ? {} : { line }) });
  });
  if (problems.length > 0) throw new ConfigFileError(loaded.file, problems);
}

/**
 * Validates a configuration given as a value (flags shaped like a file) rather than read
 * from a file. Throws LbConfigError with one issue per path.
 */
export function validateConfigObject(raw: Record<string, unknown>, origin: string): LoadedConfig {
  const parsed = configFileSchema.safeParse(raw);
  if (parsed.success) return { file: origin, raw, config: parsed.data };
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const issue of parsed.error.issues) {
    const path = formatPath(issue.path);
    if (seen.has(path)) continue;
    seen.add(path);
    issues.push({ path, message: issue.message });
  }
  throw new LbConfigError(issues);
}

/**
 * Substitutes variables in every string value (not in keys), in place. An unquoted value
 * that is exactly one `${VAR}` becomes a number or boolean when its result reads as one.
 */
function substituteAll(
  node: unknown,
  path: PropertyKey[],
  env: NodeJS.ProcessEnv,
  report: (path: PropertyKey[], node: Node, message: string) => void,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      substituteAll(pair.value, [...path, key], env, report);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => substituteAll(item, [...path, index], env, report));
  } else if (isScalar(node) && typeof node.value === 'string') {
    const result = substitute(node.value, env);
    if (!result.ok) {
      report(path, node, result.problem.message);
      return;
    }
    if (!result.substituted && result.value === node.value) return;
    node.value = result.whole && node.type === 'PLAIN' ? coerceScalar(result.value) : result.value;
  }
}

/** Where `path` is written: the key of the last mapping entry on it that exists, or the list item. */
function offsetOf(doc: Document, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  // Nothing found on the path (a missing top-level option): no line.
  let offset: number | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return offset;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!item) return offset;
      offset = (item as Node).range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

/** `values` over `base`: objects merge key by key, anything else (lists included) replaces. */
export function mergeOverrides(base: Record<string, unknown>, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(values)) {
    const current = out[key];
    out[key] = isPlainObject(value) && isPlainObject(current) ? mergeOverrides(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
