// Errors as one list, undici's way: every error class a user can meet is defined in
// src/errors.ts, extends LbError and carries a stable `LB_ERR_...` code from
// `errorCodes`; classes elsewhere either extend one of those or are named below as
// internal, with the reason they never reach a user.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import * as adminModule from '../../src/admin/index.js';
import * as discoveryModule from '../../src/discovery/index.js';
import * as errorsModule from '../../src/errors.js';
import {
  DiscoveryError,
  DnsQueryError,
  LbConfigError,
  LbError,
  LbListenError,
  LbNativeError,
  LbResolveError,
  LbStateError,
  LbUsageError,
  LbWorkerError,
  errorCodes,
} from '../../src/errors.js';
import * as packageEntry from '../../src/index.js';

const srcDir = fileURLToPath(new URL('../../src/', import.meta.url));

/** One instance of each class of errors.ts, made as lb-native makes it, and the code it must carry. */
const examples: Record<string, [make: () => LbError, code: string]> = {
  LbError: [() => new LbError(errorCodes.state, 'base'), errorCodes.state],
  LbConfigError: [
    () => new LbConfigError([{ path: 'backends[0].address', message: 'port must be 1-65535, got 0' }]),
    'LB_ERR_CONFIG',
  ],
  LbUsageError: [() => new LbUsageError("unknown flag '--frob'"), 'LB_ERR_USAGE'],
  LbListenError: [
    () => LbListenError.from('127.0.0.1:80', Object.assign(new Error('listen EACCES'), { code: 'EACCES' })),
    'LB_ERR_LISTEN',
  ],
  LbResolveError: [() => new LbResolveError('listen', 'nowhere.invalid', 'ENOTFOUND'), 'LB_ERR_RESOLVE'],
  LbStateError: [() => new LbStateError('stats() called while idle'), 'LB_ERR_STATE'],
  LbNativeError: [() => new LbNativeError('cannot load the native addon'), 'LB_ERR_NATIVE'],
  LbWorkerError: [() => new LbWorkerError(1, 'EMFILE', 'accept failed'), 'LB_ERR_WORKER'],
  DiscoveryError: [() => new DiscoveryError('dns', 'resolve', 'web.test: NXDOMAIN'), 'LB_ERR_DISCOVERY'],
  DnsQueryError: [() => new DnsQueryError('SERVFAIL', 'DNS query web.test A: SERVFAIL'), 'LB_ERR_DNS_QUERY'],
};

/**
 * Error classes outside errors.ts that are not LbErrors, and why no user meets them: each
 * is caught and turned into something else before it leaves its module.
 */
const internal: Record<string, string> = {
  // The admin API's failure, sent as `{ error: { code, message } }` with an HTTP status;
  // its code is the JSON API's (an LB_ERR_ code for an LbError, else e.g. forbidden_host).
  AdminHttpError: 'src/admin/http-io.ts',
  // The CLI's admin client: printed as one line by `lb-native reload`/`top`.
  AdminUnreachableError: 'src/cli/admin-client.ts',
  // A malformed DNS message: queryDns rejects with DnsQueryError (reason EBADRESP) instead.
  DnsFormatError: 'src/discovery/dns-message.ts',
  // A sealed private key from etcd that does not open (wrong cluster key, tampered, other
  // name): the cluster reports it in an `acme-cluster-error` event and takes nothing.
  SealedKeyError: 'src/acme/sealed-key.ts',
  // The JSON syntax scanner's early exit: caught in the same file and turned into a
  // position and a message for LbConfigError.
  Stop: 'src/config/json-syntax.ts',
};

const isErrorClass = (value: unknown): value is new (...args: never[]) => Error =>
  typeof value === 'function' && value.prototype instanceof Error;

/** `class X extends Y` for every Y ending in Error, in every source file: [file, X, Y]. */
function declaredErrorClasses(dir = srcDir): Array<[file: string, name: string, base: string]> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return declaredErrorClasses(path);
    if (!entry.name.endsWith('.ts')) return [];
    const text = readFileSync(path, 'utf8');
    return [...text.matchAll(/\bclass\s+(\w+)\s+extends\s+(\w*Error)\b/g)].map(
      (m) => [`src/${relative(srcDir, path)}`, m[1]!, m[2]!] as [string, string, string],
    );
  });
}

describe('error classes', () => {
  it('every error class the public modules export is one of errors.ts', () => {
    const exported = new Map<string, unknown>();
    for (const module of [packageEntry, discoveryModule, adminModule]) {
      for (const [name, value] of Object.entries(module)) if (isErrorClass(value)) exported.set(name, value);
    }
    expect([...exported.keys()].sort()).toEqual(Object.keys(examples).sort());
    for (const [name, value] of exported) expect(value, name).toBe((errorsModule as Record<string, unknown>)[name]);
  });

  it('each carries its stable LB_ERR_ code from errorCodes, its own name, and extends LbError', () => {
    const listed = new Set<string>(Object.values(errorCodes));
    for (const [name, [make, code]] of Object.entries(examples)) {
      const error = make();
      expect(error, name).toBeInstanceOf(LbError);
      expect(error.code, name).toBe(code);
      expect(listed.has(error.code), `${name}: ${error.code} is not in errorCodes`).toBe(true);
      expect(error.name, name).toBe(name);
    }
  });

  it('errorCodes holds LB_ERR_ codes only, each used by one class', () => {
    const codes = Object.values(errorCodes);
    for (const code of codes) expect(code).toMatch(/^LB_ERR_[A-Z_]+$/);
    expect(new Set(codes).size).toBe(codes.length);
    const used = Object.entries(examples)
      .filter(([name]) => name !== 'LbError')
      .map(([, [, code]]) => code);
    expect(used.sort()).toEqual([...codes].sort());
  });

  it('every other error class in src/ extends one of errors.ts, or is internal for a stated reason', () => {
    const declared = declaredErrorClasses();
    const inErrorsTs = new Set(declared.filter(([file]) => file === 'src/errors.ts').map(([, name]) => name));
    expect([...inErrorsTs].sort()).toEqual(Object.keys(examples).sort());
    const stray = declared.filter(
      ([file, name, base]) => file !== 'src/errors.ts' && !inErrorsTs.has(base) && internal[name] !== file,
    );
    expect(stray.map(([file, name, base]) => `${file}: ${name} extends ${base}`)).toEqual([]);
    // The internal list names only classes that exist.
    for (const [name, file] of Object.entries(internal))
      expect(
        declared.some(([f, n]) => f === file && n === name),
        name,
      ).toBe(true);
  });
});
