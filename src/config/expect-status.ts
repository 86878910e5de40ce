// Which HTTP statuses pass a health check, written as HAProxy's `http-check expect status`
// takes them: one code (`200`), a range (`200-399`), or a comma-separated list of both
// (`200,204,300-302`).

/** Inclusive ranges of passing status codes. */
export type StatusRanges = ReadonlyArray<readonly [low: number, high: number]>;

export type ParseExpectStatusResult = { ok: true; ranges: StatusRanges } | { ok: false; message: string };

const example = "e.g. '200-399' or '200,204'";

/** Parses an expectStatus value. Never throws: a failure says what was expected. */
export function parseExpectStatus(text: string): ParseExpectStatusResult {
  const ranges: Array<readonly [number, number]> = [];
  if (text.trim() === '') return { ok: false, message: `expected status codes, ${example}` };
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const match = /^([0-9]{3})(?:-([0-9]{3}))?$/.exec(part);
    if (!match) return { ok: false, message: `'${part}' is not a status code or range; expected codes 100-599, ${example}` };
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    for (const code of [low, high]) {
      if (code < 100 || code > 599) return { ok: false, message: `status ${code} is out of range; expected codes 100-599` };
    }
    if (high < low) return { ok: false, message: `range '${part}' ends before it starts` };
    ranges.push([low, high]);
  }
  return { ok: true, ranges };
}

export function statusMatches(ranges: StatusRanges, status: number): boolean {
  return ranges.some(([low, high]) => status >= low && status <= high);
}
