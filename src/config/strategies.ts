// Load-balancing strategies: the one list of names, and what each needs from a request.
// When the addon gains a strategy, add it to `NativeStrategy` in native.ts and here; the
// checks below fail to compile until both agree, and test/config/schema.test.ts fails
// until this list and the addon's own (its strategies()) agree both ways.
import type { NativeStrategy } from '../native.js';

/** Every strategy name lb-native accepts, each implemented by the native data path. */
export const strategies = [
  'round-robin',
  'weighted-round-robin',
  'least-connections',
  'random',
  'p2c',
  'peak-ewma',
  'ip-hash',
  'header-hash',
  'uri-hash',
  'cookie',
] as const;

/** A load-balancing strategy name. */
export type Strategy = (typeof strategies)[number];

/**
 * The strategies the native data path implements: all of them now. Kept (as the same
 * list) for code written when only some were.
 */
export const availableStrategies = strategies;

/** Same as `Strategy`. */
export type AvailableStrategy = Strategy;

// Compile-time: the list and NativeStrategy name the same strategies.
type Exhaustive<T extends true> = T;
type _NativeStrategiesAreListed = Exhaustive<NativeStrategy extends Strategy ? true : false>;
type _ListedStrategiesAreNative = Exhaustive<Strategy extends NativeStrategy ? true : false>;

/**
 * Strategies that pick from something in the HTTP request (a header, the target, a
 * cookie). In tcp mode there is no request, and in redirect mode no response to set a
 * cookie on, so the schema rejects them there.
 */
export const requestKeyedStrategies = {
  'header-hash': 'a request header',
  'uri-hash': 'the request target',
  cookie: 'a cookie set on a proxied response',
} as const satisfies Partial<Record<Strategy, string>>;

/** Why `strategy` cannot run in `mode`, or undefined when it can. */
export function strategyModeConflict(strategy: Strategy, mode: 'http' | 'redirect' | 'tcp'): string | undefined {
  if (mode === 'http') return undefined;
  if (strategy === 'cookie' || (mode === 'tcp' && strategy in requestKeyedStrategies)) {
    const needs = requestKeyedStrategies[strategy as keyof typeof requestKeyedStrategies];
    return `'${strategy}' needs ${needs}, which ${mode} mode does not have`;
  }
  return undefined;
}
