// The options that cross to the data path are listed twice, once per language
// (src/config/native-options.ts and native/addon/config_table.cpp). These tests pin the
// two lists to each other, the schema to the TypeScript list, and the addon's reader to
// its own list, so a range can no longer drift on one side.
import { describe, expect, it } from 'vitest';

import { type NativeOption, nativeOptions } from '../../src/config/native-options.js';
import { type BalancerConfig, validateOptions } from '../../src/config/schema.js';
import { toNativeConfig } from '../../src/config/to-native.js';
import { type NativeConfig, loadNative } from '../../src/native.js';

const addon = loadNative();

/** Options with `value` at `row`'s path (limits that constrain each other kept apart). */
function optionsWith(row: NativeOption, value: number): Record<string, unknown> {
  const backendKey = row.path.startsWith('backends[].') ? row.path.slice('backends[].'.length) : undefined;
  if (backendKey) return { backends: [{ address: '127.0.0.1:9001', [backendKey]: value }] };
  const options: Record<string, unknown> = { backends: ['127.0.0.1:9001'] };
  const [section, key] = row.path.split('.');
  if (key === undefined) {
    options[section!] = value;
  } else {
    // maxStartLine may not exceed maxHeadBytes: give the other one room.
    const room = section === 'limits' ? { maxStartLine: 16, maxHeadBytes: 1_048_576 } : {};
    options[section!] = { ...room, [key]: value };
  }
  return options;
}

function valueAt(config: BalancerConfig | NativeConfig, path: string): unknown {
  if (path.startsWith('backends[].')) {
    return (config.backends[0] as unknown as Record<string, unknown> | undefined)?.[path.slice('backends[].'.length)];
  }
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
}

function accepts(row: NativeOption, value: number): boolean {
  try {
    return valueAt(validateOptions(optionsWith(row, value)), row.path) === value;
  } catch {
    return false;
  }
}

/** The native configuration of `options`, with every row set to its `pick`ed end. */
function nativeAtEnds(pick: 'min' | 'max'): NativeConfig {
  const config = validateOptions({ listen: '127.0.0.1:0', backends: ['127.0.0.1:1'] });
  const native = toNativeConfig(config, {
    listeners: [{ host: '127.0.0.1', port: 0 }],
    workers: 1,
    strategy: config.strategy,
    backends: [{ id: 0, config: config.backends[0]!, host: '127.0.0.1', healthy: true }],
  });
  for (const row of nativeOptions) setAt(native, row.path, row[pick]);
  native.workers = 1; // a thousand threads prove nothing more
  return native;
}

function setAt(native: NativeConfig, path: string, value: number): void {
  if (path.startsWith('backends[].')) {
    for (const backend of native.backends)
      (backend as unknown as Record<string, number>)[path.slice('backends[].'.length)] = value;
    return;
  }
  const keys = path.split('.');
  const last = keys.pop()!;
  const holder = keys.reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, native as never);
  holder[last] = value;
}

/** The LB_ERR_CONFIG message the addon's start() gives for `native`, or undefined if it starts. */
function nativeRefusal(native: NativeConfig): string | undefined {
  const balancer = new addon.Balancer(() => {});
  try {
    balancer.start(native);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('LB_ERR_CONFIG');
    return (error as Error).message;
  }
  balancer.stop(0, () => {});
  return undefined;
}

describe('options crossing to native code: one table per side, the same ranges', () => {
  it('the addon and TypeScript list the same options, each with the same range', () => {
    const native = new Map(addon.configTable().map((row) => [row.path, { min: row.min, max: row.max, integer: row.integer }]));
    const typescript = new Map(nativeOptions.map((row) => [row.path, { min: row.min, max: row.max, integer: row.integer }]));
    expect([...native.keys()].filter((path) => !typescript.has(path))).toEqual([]);
    expect([...typescript.keys()].filter((path) => !native.has(path))).toEqual([]);
    for (const [path, range] of typescript) expect({ path, ...native.get(path) }).toEqual({ path, ...range });
    expect(typescript.size).toBe(nativeOptions.length);
  });

  it('native code’s own defaults are the TypeScript ones', () => {
    const native = new Map(addon.configTable().map((row) => [row.path, row.default]));
    for (const row of nativeOptions) {
      if (row.default === undefined) continue; // workers: the CPU count, chosen in TypeScript
      expect({ path: row.path, default: native.get(row.path) }).toEqual({ path: row.path, default: row.default });
    }
  });

  it('the schema accepts exactly each row’s range', () => {
    for (const row of nativeOptions) {
      expect(accepts(row, row.min), `${row.path} = ${row.min}`).toBe(true);
      expect(accepts(row, row.max), `${row.path} = ${row.max}`).toBe(true);
      const step = row.integer ? 1 : 0.001;
      expect(accepts(row, row.min - step), `${row.path} = ${row.min - step}`).toBe(false);
      expect(accepts(row, row.max + (row.max === Number.MAX_SAFE_INTEGER ? 2 : step)), `${row.path} above max`).toBe(false);
      if (row.integer) expect(accepts(row, row.min + 0.5), `${row.path} = ${row.min + 0.5}`).toBe(false);
    }
  });

  it('the schema fills in each row’s default', () => {
    const config = validateOptions({ backends: ['127.0.0.1:9001'] });
    for (const row of nativeOptions) {
      expect({ path: row.path, value: valueAt(config, row.path) }).toEqual({ path: row.path, value: row.default });
    }
  });

  it('the addon takes every option at both ends of its range', async () => {
    const low = nativeAtEnds('min');
    const balancer = new addon.Balancer(() => {});
    balancer.start(low);
    try {
      balancer.update(nativeAtEnds('max'));
      balancer.update(low);
    } finally {
      await new Promise<void>((resolve) => balancer.stop(0, resolve));
    }
  });

  it('the addon refuses each option just outside its range, naming it', () => {
    for (const row of nativeOptions) {
      const shown = row.path.replace('backends[].', 'backends[0].');
      const expected = `${shown}: expected ${row.integer ? 'an integer' : 'a number'} from ${row.min} to ${row.max}`;
      for (const value of [row.min - 1, row.max + (row.max === Number.MAX_SAFE_INTEGER ? 2 : 1)]) {
        const native = nativeAtEnds('min');
        setAt(native, row.path, value);
        expect(nativeRefusal(native), `${row.path} = ${value}`).toBe(expected);
      }
    }
  });
});
