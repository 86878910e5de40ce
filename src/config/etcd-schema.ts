// How a configuration names an etcd cluster: its client URLs and the TLS files to reach
// it. One home for both users, `discovery.etcd` (file-schema.ts) and `tls.acme.cluster.etcd`
// (acme-schema.ts).
import { z } from 'zod';

import { describeValue, strictObject } from './schema.js';

const endpoint = z
  .string({ error: (issue) => `expected an etcd URL like http://127.0.0.1:2379, got ${describeValue(issue.input)}` })
  .refine((url) => /^(https?:\/\/)?[^\s/]+(:\d+)?\/?$/.test(url), {
    error: (issue) => `expected an etcd URL like http://127.0.0.1:2379, got ${describeValue(issue.input)}`,
  });

/** A non-empty list of etcd client URLs. */
export const etcdEndpointsSchema = z
  .array(endpoint, { error: (issue) => `expected a list of etcd URLs, got ${describeValue(issue.input)}` })
  .min(1, { error: 'expected at least one etcd URL' });

function pemPath() {
  const what = 'the path of a PEM file';
  return z.string({ error: (issue) => `expected ${what}, got ${describeValue(issue.input)}` }).min(1, {
    error: () => `expected ${what}, got an empty string`,
  });
}

/** `tls: { ca, cert?, key? }`: PEM files for https endpoints (cert and key for client authentication). */
export const etcdTlsSchema = strictObject(
  { ca: pemPath(), cert: pemPath().optional(), key: pemPath().optional() },
  'an object { ca, cert?, key? } of PEM file paths',
).superRefine((tls, ctx) => {
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [tls.cert === undefined ? 'cert' : 'key'],
      message: 'cert and key go together: give both or neither',
    });
  }
});

export type EtcdTlsConfig = z.output<typeof etcdTlsSchema>;
