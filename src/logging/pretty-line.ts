// The readable form of one log record, for a person at a terminal:
//
//   12:00:00.123 INFO  listening address=127.0.0.1:8080 url=http://127.0.0.1:8080/ mode=http
//
// local time, level, the event's name, then the other fields as key=value (strings quoted
// when they hold spaces, quotes or '=', objects and lists as compact JSON). Always one line.

/** Fields every record has, shown in the line's own places (or, for pid, not at all). */
const placed = new Set(['level', 'time', 'msg', 'pid']);

const levelColors: Readonly<Record<string, string>> = { error: '31', warn: '33', info: '32', debug: '90' };

function clock(time: unknown): string {
  const date = typeof time === 'string' || typeof time === 'number' ? new Date(time) : new Date();
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return v !== '' && /^[^\s"'=\\]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

export interface PrettyLineOptions {
  /** Colour the level with ANSI escapes. */
  color: boolean;
}

/** One record (pino's object) as one line, without the newline. */
export function prettyLine(record: Readonly<Record<string, unknown>>, options: PrettyLineOptions): string {
  const level = String(record.level ?? 'info');
  const label = level.toUpperCase().padEnd(5);
  const colored = options.color ? `\x1b[${levelColors[level] ?? '0'}m${label}\x1b[0m` : label;
  const fields = Object.entries(record)
    .filter(([key, v]) => !placed.has(key) && v !== undefined)
    .map(([key, v]) => `${key}=${value(v)}`);
  return [clock(record.time), colored, value(record.msg ?? ''), ...fields].join(' ');
}
