// Log levels, least to most verbose. `--log-level` and `logging.level` take these.
export const logLevels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof logLevels)[number];
