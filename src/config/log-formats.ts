// Log formats. `--log-format` and `logging.format` take these; without either, stdout
// decides: a terminal gets `pretty`, anything else (a pipe, a file, journald) `json`.
export const logFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];
