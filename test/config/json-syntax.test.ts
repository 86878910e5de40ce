// A JSON configuration file with a syntax error: the message names the line and column of
// the first character that cannot belong, in one line (V8's own message gives no position
// for most errors and quotes the text, newlines and all). Regression for issue 16.
import { describe, expect, it } from 'vitest';

import { ConfigFileError, parseConfigText } from '../../src/config/file.js';
import { findJsonSyntaxError } from '../../src/config/json-syntax.js';

function lines(text: string): readonly string[] {
  try {
    parseConfigText('lb.json', text);
  } catch (error) {
    if (error instanceof ConfigFileError) return error.lines;
    throw error;
  }
  throw new Error('expected a ConfigFileError');
}

describe('JSON syntax errors in a configuration file', () => {
  it('name the line and column, in one line of text', () => {
    const cases: Array<[string, string]> = [
      [
        '{\n  "listen": "127.0.0.1:0",\n  "backends": [1,]\n}\n',
        "lb.json:3: not valid JSON: a comma before ']': JSON allows no trailing comma (column 17)",
      ],
      ['{\n  "workers": tru\n}\n', 'lb.json:2: not valid JSON: expected true, got "\\n" (column 17)'],
      ['{\n  "a": 1\n  "b": 2\n}', "lb.json:3: not valid JSON: expected ',' or '}' after a value, got '\"' (column 3)"],
      ['{\n  "a" 1\n}', "lb.json:2: not valid JSON: expected ':' after the key, got '1' (column 7)"],
      ['{\n  a: 1\n}', "lb.json:2: not valid JSON: expected a quoted key, got 'a' (column 3)"],
      ['{"a": 1}\n}', "lb.json:2: not valid JSON: expected the end of the file after the value, got '}' (column 1)"],
      [
        '{\n  "a": "open\n',
        'lb.json:2: not valid JSON: expected \'"\' or more of the string (control characters must be escaped), got "\\n" (column 13)',
      ],
      ['{\n  "a": [1, 2\n', "lb.json:3: not valid JSON: expected ',' or ']' after a value, got the end of the file (column 1)"],
      ['{"a": 01}', "lb.json:1: not valid JSON: expected ',' or '}' after a value, got '1' (column 8)"],
      [
        '{"a": "\\x"}',
        "lb.json:1: not valid JSON: expected an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX, got 'x' (column 9)",
      ],
    ];
    for (const [text, expected] of cases) {
      expect(() => JSON.parse(text), text).toThrow();
      const got = lines(text);
      expect(got, text).toEqual([expected]);
      expect(got[0], text).not.toContain('\n');
    }
  });

  it('finds nothing wrong in what JSON.parse accepts', () => {
    for (const text of [
      '{}',
      '[]',
      ' {"a": [1, -2.5e+3, 0.1, true, false, null, "x\\u00e9\\n", {}]} ',
      '"s"',
      '0',
      '{"a": {"b": [[], [{}]]}}',
    ]) {
      JSON.parse(text);
      expect(findJsonSyntaxError(text), text).toBeUndefined();
    }
  });

  it('stops at a nesting depth instead of recursing without bound', () => {
    const deep = '['.repeat(100_000);
    expect(findJsonSyntaxError(deep)).toEqual({ offset: 512, message: "nested more than 512 levels deep, got '['" });
  });
});
