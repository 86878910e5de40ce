// Log lines for the reader at hand (issue 16: on a terminal, `lb-native start` printed JSON):
// on a terminal (a real pseudo-terminal, script(1)) one readable line per event; through a
// pipe JSON lines; `--log-format json|pretty` and `logging.format` choose either, the flag
// winning over the file, and a reload applies a changed `logging.format`.
import { writeFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { prettyLine } from '../../src/logging/pretty-line.js';
import { configFiles } from '../helpers/config-files.js';
import { runCleanups, onCleanup } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { TerminalProcess } from '../helpers/cli-terminal.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, parseLogLines, runCli, usageError, startArgs } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const { write: file } = configFiles('lb-log-format-');

/** `12:00:00.123 INFO  listening address=...`: a readable line for `msg`. */
const readable = (level: string, msg: string) =>
  new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ${level.padEnd(5)} ${msg}(?: |$)`, 'm');
const ansi = /\x1b\[[0-9;]*m/g;
/** What the terminal showed, without the echo of the Ctrl-C typed (^C). */
const shown = (output: string) => output.replaceAll('^C', '');

function startOnTerminal(args: string[], env: NodeJS.ProcessEnv = {}): TerminalProcess {
  const terminal = new TerminalProcess(args, env);
  onCleanup(() => terminal.kill());
  return terminal;
}

describe('on a terminal', () => {
  it('start prints one readable line per event, the level coloured; Ctrl-C stops it', async () => {
    const a = await startHttpBackend('a');
    const terminal = startOnTerminal(startArgs(a.address), {
      NO_COLOR: '',
    });
    const [, port] = await terminal.waitForOutput(
      /listening address=127\.0\.0\.1:(\d+) port=\d+ url=http:\/\/127\.0\.0\.1:\d+\/ mode=http strategy=round-robin backends=1 workers=1\n/,
    );
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/^a GET/);
    terminal.type('\x03');
    const result = await terminal.waitForExit();
    expect(result.code).toBe(0);
    expect(result.output).toContain('\x1b[32mINFO \x1b[0m listening');
    const plain = shown(result.output).replace(ansi, '');
    for (const [level, msg] of [
      ['INFO', 'listening'],
      ['INFO', 'stopping signal=SIGINT'],
      ['INFO', 'stopped requests=1'],
    ] as const) {
      expect(plain).toMatch(readable(level, msg));
    }
    expect(plain).not.toMatch(/^\{/m);
  });

  it('NO_COLOR leaves the colours out; --log-format json prints JSON lines all the same', async () => {
    const a = await startHttpBackend('a');
    const plain = startOnTerminal(startArgs(a.address), {
      NO_COLOR: '1',
    });
    const json = startOnTerminal(startArgs(a.address, '--log-format', 'json'));
    await plain.waitForOutput(readable('INFO', 'listening'));
    await json.waitForOutput(/"msg":"listening"/);
    plain.type('\x03');
    json.type('\x03');
    const [p, j] = await Promise.all([plain.waitForExit(), json.waitForExit()]);
    expect(p.code).toBe(0);
    expect(p.output).not.toMatch(ansi);
    expect(j.code).toBe(0);
    expect(parseLogLines(shown(j.output)).map((line) => line.msg)).toEqual(['listening', 'stopping', 'stopped']);
  });
});

describe('through a pipe', () => {
  it('JSON lines by default; --log-format pretty and logging.format: pretty give readable ones; the flag wins over the file', async () => {
    const a = await startHttpBackend('a');
    const prettyFile = file('pretty.yaml', [
      'listen: 127.0.0.1:0',
      'workers: 1',
      `backends: [${a.address}]`,
      'logging: { format: pretty }',
    ]);
    const byDefault = new CliProcess(startArgs(a.address));
    const byFlag = new CliProcess(startArgs(a.address, '--log-format', 'pretty'));
    const byFile = new CliProcess(['start', '--config', prettyFile]);
    const flagOverFile = new CliProcess(['start', '--config', prettyFile, '--log-format', 'json']);
    await byDefault.waitForLog('listening');
    await flagOverFile.waitForLog('listening');
    for (const cli of [byFlag, byFile]) await cli.waitForStdout(readable('INFO', 'listening'));
    for (const cli of [byDefault, byFlag, byFile, flagOverFile]) cli.signal('SIGTERM');
    const results = await Promise.all([byDefault, byFlag, byFile, flagOverFile].map((cli) => cli.waitForExit()));
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
    const [d, f, c, o] = results;
    expect(parseLogLines(d!.stdout).map((l) => l.msg)).toEqual(['listening', 'stopping', 'stopped']);
    expect(parseLogLines(o!.stdout).map((l) => l.msg)).toEqual(['listening', 'stopping', 'stopped']);
    for (const pretty of [f!, c!]) {
      const lines = pretty.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(readable('INFO', 'listening'));
      expect(lines[1]).toMatch(readable('INFO', 'stopping signal=SIGTERM'));
      expect(lines[2]).toMatch(readable('INFO', 'stopped requests=0'));
      // A pipe never gets colours.
      expect(pretty.stdout).not.toMatch(ansi);
    }
  });

  it('a reload applies a changed logging.format', async () => {
    const a = await startHttpBackend('a');
    const lines = ['listen: 127.0.0.1:0', 'workers: 1', `backends: [${a.address}]`];
    const config = file('reload-format.yaml', [...lines, 'logging: { format: json }']);
    const cli = new CliProcess(['start', '--config', config]);
    await cli.waitForLog('listening');
    writeFileSync(config, `${[...lines, 'logging: { format: pretty }'].join('\n')}\n`);
    cli.signal('SIGHUP');
    await cli.waitForStdout(readable('INFO', 'reload-applied'));
    cli.signal('SIGTERM');
    const result = await cli.waitForExit();
    expect(result.code).toBe(0);
    const out = result.stdout.trimEnd().split('\n');
    expect(out.slice(0, 2).map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['listening', 'reload-requested']);
    expect(out.slice(2)).toEqual([
      expect.stringMatching(readable('INFO', `reload-applied origin=${config} changes=\\["logging\\.format: json -> pretty"\\]`)),
      expect.stringMatching(readable('INFO', 'stopping')),
      expect.stringMatching(readable('INFO', 'stopped')),
    ]);
  });

  // The flag's usage error (--log-format xml) is in test/cli/usage-errors.test.ts.
  it('an unknown format in a file is a usage error naming the file and line', async () => {
    const bad = file('bad-format.yaml', ['backends: [127.0.0.1:9]', 'logging:', '  format: xml']);
    expect(await runCli(['validate', bad])).toMatchObject(
      usageError(`${bad}:3: logging.format: expected one of json, pretty, got 'xml'`, ''),
    );
  });
});

describe('prettyLine', () => {
  it('one line: local time, level, event, then key=value with strings quoted only when needed', () => {
    const time = new Date(2025, 0, 2, 3, 4, 5, 67).toISOString();
    const line = prettyLine(
      {
        level: 'warn',
        time,
        pid: 42,
        msg: 'backend-down',
        backend: '10.0.0.5:8080',
        reason: 'status 503 (expected 200-399)',
        changes: ['a b', 'c'],
        nested: { x: 1 },
        empty: '',
        error: 'line one\nline two',
        count: 3,
        ok: false,
        none: null,
      },
      { color: false },
    );
    expect(line).toBe(
      '03:04:05.067 WARN  backend-down backend=10.0.0.5:8080 reason="status 503 (expected 200-399)" changes=["a b","c"] nested={"x":1} empty="" error="line one\\nline two" count=3 ok=false none=null',
    );
    expect(prettyLine({ level: 'error', time, msg: 'error' }, { color: true })).toBe('03:04:05.067 \x1b[31mERROR\x1b[0m error');
  });
});
