// Every error lb-native throws or emits, one class per kind, each with a stable `code`
// from `errorCodes` (test/layout/error-classes.test.ts checks that every error class has one).
// Match on `err.code` (or `instanceof`); messages are for people and may change.

/** The stable codes of every lb-native error, one per class below. */
export const errorCodes = {
  config: 'LB_ERR_CONFIG',
  usage: 'LB_ERR_USAGE',
  listen: 'LB_ERR_LISTEN',
  resolve: 'LB_ERR_RESOLVE',
  state: 'LB_ERR_STATE',
  native: 'LB_ERR_NATIVE',
  worker: 'LB_ERR_WORKER',
  discovery: 'LB_ERR_DISCOVERY',
  dnsQuery: 'LB_ERR_DNS_QUERY',
} as const;

export type LbErrorCode = (typeof errorCodes)[keyof typeof errorCodes];

/** The base class of every lb-native error. */
export class LbError extends Error {
  readonly code: LbErrorCode;

  constructor(code: LbErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found in the options: where, and what was expected there. */
export interface ConfigIssue {
  /** Where in the options, e.g. `backends[2].address`; '' for the options object itself. */
  readonly path: string;
  /** What was wrong and what was expected, e.g. `port must be 1-65535, got 70000`. */
  readonly message: string;
}

/** The options given to `createBalancer` are invalid: one line per problem in `message`, and `issues`. */
export class LbConfigError extends LbError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super(errorCodes.config, issues.map(formatIssue).join('\n') || 'invalid options', options);
    this.issues = issues;
  }
}

/** A command line the CLI cannot parse (unknown flag, missing value, ...). */
export class LbUsageError extends LbError {
  constructor(message: string) {
    super(errorCodes.usage, message);
  }
}

/** Binding or listening on the listen address failed. */
export class LbListenError extends LbError {
  /** The listen address as configured, e.g. `127.0.0.1:8080`. */
  readonly address: string;
  /** Short reason, e.g. `address in use`, `permission denied`. */
  readonly reason: string;

  constructor(address: string, reason: string, options?: ErrorOptions) {
    super(errorCodes.listen, `listen ${address}: ${reason}`, options);
    this.address = address;
    this.reason = reason;
  }

  /**
   * The error for what a bind or listen on `address` threw: a Node errno error, or the
   * addon's LB_ERR_LISTEN error (whose message carries the errno text). The reason is
   * short for the usual errnos (`address in use`, `permission denied`, `address not
   * available`), else the thrown message.
   */
  static from(address: string, cause: unknown): LbListenError {
    const code = (cause as { code?: unknown } | null)?.code;
    const message = cause instanceof Error ? cause.message : String(cause);
    const text = `${typeof code === 'string' ? code : ''} ${message}`;
    const reason = listenReasons.find(([pattern]) => pattern.test(text))?.[1] ?? message;
    return new LbListenError(address, reason, { cause });
  }
}

const listenReasons: ReadonlyArray<readonly [RegExp, string]> = [
  [/EADDRINUSE|in use/i, 'address in use'],
  [/EACCES|permission denied/i, 'permission denied'],
  [/EADDRNOTAVAIL|cannot assign requested address/i, 'address not available'],
];

/** A host name in the listen address or a backend address could not be resolved. */
export class LbResolveError extends LbError {
  /** Where in the options the name was given, e.g. `backends[1].address`. */
  readonly path: string;
  readonly hostname: string;
  /** The resolver's code, e.g. ENOTFOUND or EAI_AGAIN. */
  readonly reason: string;

  constructor(path: string, hostname: string, reason: string, options?: ErrorOptions) {
    super(errorCodes.resolve, `${path}: cannot resolve '${hostname}' (${reason})`, options);
    this.path = path;
    this.hostname = hostname;
    this.reason = reason;
  }
}

/** A method was called in a state that does not allow it, e.g. `stats()` before `start()`. */
export class LbStateError extends LbError {
  constructor(message: string) {
    super(errorCodes.state, message);
  }
}

/** The native addon could not be loaded, or failed in a way no other class describes. */
export class LbNativeError extends LbError {
  constructor(message: string, options?: ErrorOptions) {
    super(errorCodes.native, message, options);
  }
}

/** An error a data-path worker reported while running; emitted as the 'error' event. */
export class LbWorkerError extends LbError {
  /** Index of the worker that reported it. */
  readonly worker: number;
  /** The code the native worker gave (e.g. an errno name). */
  readonly nativeCode: string;

  constructor(worker: number, nativeCode: string, message: string) {
    super(errorCodes.worker, `worker ${worker}: ${message} (${nativeCode})`);
    this.worker = worker;
    this.nativeCode = nativeCode;
  }
}

/** Why discovery could not refresh the backend set. The balancer keeps the last good set meanwhile. */
export class DiscoveryError extends LbError {
  /** Which source: 'dns' or 'etcd'. */
  readonly source: 'dns' | 'etcd';
  /**
   * What failed: 'resolve' (DNS query), 'empty' (no backend found), 'connection'
   * (etcd unreachable or watch lost), 'value' (an etcd value that is not a backend),
   * 'apply' (the balancer refused an add, removal or change).
   */
  readonly kind: 'resolve' | 'empty' | 'connection' | 'value' | 'apply';

  constructor(source: 'dns' | 'etcd', kind: DiscoveryError['kind'], message: string, options?: ErrorOptions) {
    super(errorCodes.discovery, message, options);
    this.source = source;
    this.kind = kind;
  }
}

/** A DNS query (discovery's own, or node:dns's) that got no usable answer; `reason` says why. */
export class DnsQueryError extends LbError {
  /** ETIMEOUT, ECONNREFUSED, EBADRESP, ENODATA (no records), ENOSERVER, or the RCODE name (NXDOMAIN, SERVFAIL, ...). */
  readonly reason: string;

  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(errorCodes.dnsQuery, message, options);
    this.reason = reason;
  }
}

/** `path: message`, or just the message for the options object itself. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}
