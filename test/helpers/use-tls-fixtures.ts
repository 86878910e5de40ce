// The TLS fixtures a test file shares: made once before its first test (openssl takes a
// few seconds) and removed after its last. Call at the top level of the file:
//
//   const fixtures = useTlsFixtures();                      // localhost and 127.0.0.1
//   const fixtures = useTlsFixtures({ names: ['backend.test'] });
//   it('...', () => fixtures.ecdsa.chainFile ...);
//
// The object it returns reads the fixtures made for the file, so it is used inside tests
// and hooks only (at the top level they do not exist yet, and reading them throws).
import { afterAll, beforeAll } from 'vitest';

import { createTlsFixtures, type TlsFixtures } from './tls-fixtures.js';

export type SharedTlsFixtures = Omit<TlsFixtures, 'cleanup'>;

export function useTlsFixtures(options: { names?: readonly string[]; ips?: readonly string[] } = {}): SharedTlsFixtures {
  let made: TlsFixtures | undefined;
  beforeAll(async () => {
    made = await createTlsFixtures(options);
  }, 60_000);
  // Registered before the file's own hooks, so with 'stack' hook order this runs after them.
  afterAll(async () => {
    await made?.cleanup();
    made = undefined;
  });
  const current = (): TlsFixtures => {
    if (!made) throw new Error('TLS fixtures are made in beforeAll: read them inside a test or a hook');
    return made;
  };
  return {
    get dir() {
      return current().dir;
    },
    get ca() {
      return current().ca;
    },
    get rsa() {
      return current().rsa;
    },
    get ecdsa() {
      return current().ecdsa;
    },
    makeCa: (name, caOptions) => current().makeCa(name, caOptions),
    issue: (issueOptions) => current().issue(issueOptions),
  };
}
