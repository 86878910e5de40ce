// Where a JSON text stops being JSON, and what was expected there, for configuration files
// that JSON.parse refused. V8's messages give no position for most errors ("Unexpected
// token ']', ...\"ends\": [1,]\n}\" is not valid JSON") and quote the text, newlines and
// all; this walks RFC 8259's grammar to the first byte that cannot belong, so the error
// can name a line and column. Used only after JSON.parse has failed: it checks, it does not
// build values.

export interface JsonSyntaxError {
  /** Offset (UTF-16 code units) of the first character that does not fit. */
  offset: number;
  message: string;
}

/** Deeper nesting than this is reported instead of recursed into. */
const maxDepth = 512;

class Stop extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function describe(text: string, offset: number): string {
  if (offset >= text.length) return 'the end of the file';
  const char = text[offset] ?? '';
  return char < ' ' ? JSON.stringify(char) : `'${char}'`;
}

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Stop(pos, `${what}, got ${describe(text, pos)}`);
  };
  const skipSpace = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos] ?? '')) pos += 1;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text[pos] !== char) fail(`expected ${word}`);
      pos += 1;
    }
  };
  const string = () => {
    pos += 1; // the opening quote
    for (;;) {
      if (pos >= text.length) throw new Stop(pos, "a string is not closed: expected '\"' before the end of the file");
      const char = text[pos] ?? '';
      if (char === '"') {
        pos += 1;
        return;
      }
      if (char < ' ') fail("expected '\"' or more of the string (control characters must be escaped)");
      if (char === '\\') {
        pos += 1;
        const escape = text[pos] ?? '';
        if (escape === 'u') {
          for (let i = 1; i <= 4; i += 1) {
            if (!/[0-9a-fA-F]/.test(text[pos + i] ?? '')) {
              pos += i;
              fail('expected 4 hex digits after \\u');
            }
          }
          pos += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(escape) || escape === '')
          fail('expected an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX');
      }
      pos += 1;
    }
  };
  const digits = (what: string) => {
    if (!/[0-9]/.test(text[pos] ?? '')) fail(what);
    while (/[0-9]/.test(text[pos] ?? '')) pos += 1;
  };
  const number = () => {
    if (text[pos] === '-') pos += 1;
    if (text[pos] === '0') pos += 1;
    else digits('expected a digit');
    if (text[pos] === '.') {
      pos += 1;
      digits("expected a digit after '.'");
    }
    if (text[pos] === 'e' || text[pos] === 'E') {
      pos += 1;
      if (text[pos] === '+' || text[pos] === '-') pos += 1;
      digits('expected a digit in the exponent');
    }
  };
  const value = (depth: number) => {
    skipSpace();
    const char = text[pos];
    if (char === '{' || char === '[') {
      if (depth >= maxDepth) fail(`nested more than ${maxDepth} levels deep`);
      const close = char === '{' ? '}' : ']';
      pos += 1;
      skipSpace();
      if (text[pos] === close) {
        pos += 1;
        return;
      }
      for (;;) {
        if (close === '}') {
          if (text[pos] !== '"') fail('expected a quoted key');
          string();
          skipSpace();
          if (text[pos] !== ':') fail("expected ':' after the key");
          pos += 1;
        }
        value(depth + 1);
        skipSpace();
        if (text[pos] === close) {
          pos += 1;
          return;
        }
        if (text[pos] !== ',') fail(`expected ',' or '${close}' after a value`);
        const comma = pos;
        pos += 1;
        skipSpace();
        if (text[pos] === close) throw new Stop(comma, `a comma before '${close}': JSON allows no trailing comma`);
        skipSpace();
      }
    }
    if (char === '"') return string();
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return number();
    if (char === 't') return literal('true');
    if (char === 'f') return literal('false');
    if (char === 'n') return literal('null');
    fail('expected a value');
  };
  try {
    value(0);
    skipSpace();
    if (pos < text.length) fail('expected the end of the file after the value');
    return undefined;
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    return { offset: error.offset, message: error.reason };
  }
}
