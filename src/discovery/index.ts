// Service discovery: pools that follow DNS (A/AAAA/SRV) or an etcd key prefix, applied to
// a running balancer through its live-control API.
export {
  startDnsDiscovery,
  resolveDnsBackends,
  validateDnsDiscoveryOptions,
  dnsDiscoveryDefaults,
  DnsDiscovery,
} from './dns-discovery.js';
export type { DnsDiscoveryOptions } from './dns-discovery.js';
export type { DnsLookup, DnsRecordType, DnsAnswer } from './dns-resolver.js';
export { DnsResolver } from './dns-resolver.js';
export {
  startEtcdDiscovery,
  readEtcdBackends,
  parseEtcdValue,
  validateEtcdDiscoveryOptions,
  etcdDiscoveryDefaults,
  EtcdDiscovery,
} from './etcd-discovery.js';
export type { EtcdDiscoveryOptions } from './etcd-discovery.js';
export { BackendSync, planSync } from './backend-sync.js';
export type { BackendSyncOptions, SyncPlan, SyncResult, SyncTarget } from './backend-sync.js';
export { Discovery } from './handle.js';
export { DiscoveryError, DnsQueryError } from '../errors.js';
export type { DiscoveryEventMap, DiscoveryUpdate } from './handle.js';
export type { DiscoveredBackend } from './discovered-backend.js';
