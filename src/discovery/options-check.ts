// How a discovery source checks the options it was given: against its zod schema, every
// problem reported at once with a path under `discovery.<source>`.
import type { z } from 'zod';

import { LbConfigError } from '../errors.js';

/** Returns `options` when `schema` accepts them; otherwise throws LbConfigError. */
export function checkDiscoveryOptions<T>(schema: z.ZodType, options: T, source: 'dns' | 'etcd'): T {
  const parsed = schema.safeParse(options);
  if (parsed.success) return options;
  throw new LbConfigError(
    parsed.error.issues.map((issue) => ({
      path: ['discovery', source, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}
