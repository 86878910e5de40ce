// What the ACME tests share: a balancer whose plain listener pebble validates HTTP-01 on,
// a manager wired to it, and a record of what the manager emitted and published.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AcmeManager, type AcmeManagerOptions } from '../../src/acme/acme-manager.js';
import type { AcmeEventMap } from '../../src/acme/acme-events.js';
import { type Balancer, startBalancer } from '../helpers/balancer.js';
import { onCleanup } from '../helpers/cleanup.js';
import { buildResponse } from '../helpers/http-message.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';

export const domains = ['shop.test', 'www.shop.test'];

export function storageDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lb-acme-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'storage');
}

export async function startEdge(): Promise<{ lb: Balancer; backend: ScriptedBackend }> {
  const backend = await ScriptedBackend.start((req) => ({
    bytes: buildResponse(200, `backend ${req.target}`, { reason: 'OK' }),
  }));
  const lb = await startBalancer({ backends: [backend.address] });
  return { lb, backend };
}

export interface Recorded {
  events: Array<{ [E in keyof AcmeEventMap]: { name: E; payload: AcmeEventMap[E] } }[keyof AcmeEventMap]>;
  /** Every table the manager published, in order. */
  tables: Array<Record<string, string> | null>;
  of<E extends keyof AcmeEventMap>(name: E): AcmeEventMap[E][];
}

/** A manager publishing to `lb` (every table also recorded), stopped after the test. */
export function managerFor(
  lb: Balancer,
  options: Omit<AcmeManagerOptions, 'responder'>,
): { manager: AcmeManager; recorded: Recorded } {
  const recorded: Recorded = {
    events: [],
    tables: [],
    of: <E extends keyof AcmeEventMap>(name: E) =>
      recorded.events.filter((e) => e.name === name).map((e) => e.payload as AcmeEventMap[E]),
  };
  const manager = new AcmeManager({
    ...options,
    responder: {
      setAcmeChallenges: (table) => {
        recorded.tables.push(table === null ? null : { ...table });
        lb.setAcmeChallenges(table);
      },
    },
  });
  for (const name of ['certificate', 'certificate-renewed', 'certificate-expiring', 'certificate-failed'] as const) {
    manager.on(name, (payload) => {
      recorded.events.push({ name, payload } as Recorded['events'][number]);
    });
  }
  onCleanup(() => manager.stop());
  return { manager, recorded };
}
