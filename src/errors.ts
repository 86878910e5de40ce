// Every error lb-native throws or emits, one class per kind, each with a stable `code`.
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
}

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

/** `path: message`, or just the message for the options object itself. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}
