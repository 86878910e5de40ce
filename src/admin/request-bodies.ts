// The JSON bodies the admin API accepts, checked before they reach the Balancer (which
// validates every value again and names the field in its LbConfigError).
import type { BackendOptions, BackendState } from '../config/schema.js';
import { backendStateSchema, describeValue, maxConnectionsSchema, parseOrThrow, weightSchema } from '../config/schema.js';
import { LbConfigError } from '../errors.js';

const addKeys = ['address', 'weight', 'state', 'publicUrl', 'healthCheck'] as const;
const patchKeys = ['weight', 'state', 'maxConnections'] as const;

function objectBody(body: unknown, expected: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const got = body === undefined ? 'an empty body' : describeValue(body);
    throw new LbConfigError([{ path: '', message: `expected a JSON object ${expected}, got ${got}` }]);
  }
  return body as Record<string, unknown>;
}

function rejectUnknownKeys(body: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(body).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new LbConfigError(unknown.map((key) => ({ path: key, message: `unknown field; expected one of ${known.join(', ')}` })));
  }
}

/** POST /backends: `{ address, weight?, state?, publicUrl?, healthCheck? }`; values are checked by `addBackend`. */
export function parseAddBackendBody(body: unknown): BackendOptions {
  const object = objectBody(body, '{ address, weight?, state?, publicUrl? }');
  rejectUnknownKeys(object, addKeys);
  if (!('address' in object)) throw new LbConfigError([{ path: 'address', message: 'required, e.g. "127.0.0.1:9001"' }]);
  return object as unknown as BackendOptions;
}

export interface BackendPatch {
  weight?: number;
  state?: BackendState;
  maxConnections?: number;
}

/** PATCH /backends/:id: `{ weight?, state?, maxConnections? }`, at least one. */
export function parseBackendPatch(body: unknown): BackendPatch {
  const object = objectBody(body, '{ weight?, state?, maxConnections? }');
  rejectUnknownKeys(object, patchKeys);
  const patch: BackendPatch = {};
  const issues = [];
  if (object.weight !== undefined) {
    try {
      patch.weight = parseOrThrow(weightSchema, object.weight, ['weight']);
    } catch (error) {
      issues.push(...(error as LbConfigError).issues);
    }
  }
  if (object.state !== undefined) {
    try {
      patch.state = parseOrThrow(backendStateSchema, object.state, ['state']);
    } catch (error) {
      issues.push(...(error as LbConfigError).issues);
    }
  }
  if (object.maxConnections !== undefined) {
    try {
      patch.maxConnections = parseOrThrow(maxConnectionsSchema, object.maxConnections, ['maxConnections']);
    } catch (error) {
      issues.push(...(error as LbConfigError).issues);
    }
  }
  if (issues.length > 0) throw new LbConfigError(issues);
  if (patch.weight === undefined && patch.state === undefined && patch.maxConnections === undefined) {
    throw new LbConfigError([{ path: '', message: 'expected at least one of weight, state, maxConnections' }]);
  }
  return patch;
}
