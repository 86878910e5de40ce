// Where `lb-native start` writes its log records: stdout, as pino's JSON lines or as
// readable lines (pretty-line.ts). The format can be set after the logger exists (the
// configuration file, read after the first lines may have been logged, can name one) and
// changed by a reload.
import { isatty } from 'node:tty';

import { pino } from 'pino';

import type { LogFormat } from '../config/log-formats.js';
import { prettyLine } from './pretty-line.js';

export class LogOutput {
  /** The format when none is asked for: pretty on a terminal, JSON otherwise. */
  readonly defaultFormat: LogFormat;
  #format: LogFormat;
  readonly #color: boolean;
  readonly #sink: pino.DestinationStream;

  /** Writes to `fd` (stdout by default), synchronously. */
  constructor(fd = 1, format?: LogFormat) {
    const terminal = isatty(fd);
    this.defaultFormat = terminal ? 'pretty' : 'json';
    this.#format = format ?? this.defaultFormat;
    // NO_COLOR (no-color.org) turns colours off; a pipe never gets them.
    this.#color = terminal && !process.env.NO_COLOR;
    this.#sink = pino.destination({ dest: fd, sync: true });
  }

  get format(): LogFormat {
    return this.#format;
  }

  /** Sets the format; undefined goes back to the default. */
  setFormat(format: LogFormat | undefined): void {
    this.#format = format ?? this.defaultFormat;
  }

  /** pino's destination interface: one JSON line per call. */
  write(line: string): void {
    if (this.#format === 'json') {
      this.#sink.write(line);
      return;
    }
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.#sink.write(line);
      return;
    }
    this.#sink.write(`${prettyLine(record, { color: this.#color })}\n`);
  }
}
