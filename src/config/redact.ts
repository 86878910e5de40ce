// Secrets in a configuration: what must never be logged or echoed. `redactConfig` returns
// a copy safe to log.

/** Paths of secret values (pino redaction syntax). */
export const secretPaths = [
  'admin.token',
  'discovery.etcd.auth.username',
  'discovery.etcd.auth.password',
  // May carry a password (redis://user:password@host:port).
  'protection.cluster.redis',
] as const;

const censor = '[redacted]';

/** A deep copy of `config` with every secret value replaced by '[redacted]'. */
export function redactConfig<T>(config: T): T {
  const copy = structuredClone(config) as unknown;
  for (const path of secretPaths) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let node: unknown = copy;
    for (const key of keys) node = isObject(node) ? node[key] : undefined;
    if (isObject(node) && node[last] !== undefined) node[last] = censor;
  }
  return copy as T;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
