// lb-native's public API: createBalancer, the types of its options, stats and events, its
// error classes, discovery (DNS, etcd) and the admin server.
export { createBalancer } from './balancer.js';
export type { Balancer, BalancerState, ReconfigureOptions, ReconfigureResult, StopOptions } from './balancer.js';

export type {
  BackendConfig,
  BackendOptions,
  BackendState,
  BalancerConfig,
  BalancerOptions,
  CertificateFileOptions,
  ForwardedMode,
  ForwardedOptions,
  HealthCheckConfig,
  HealthCheckOptions,
  HealthCheckType,
  LimitOptions,
  ListenerTlsOptions,
  OutlierDetectionOptions,
  PoolOptions,
  ProxyMode,
  ProxyProtocolVersion,
  RetryOptions,
  TimeoutOptions,
} from './config/schema.js';
export { availableStrategies, strategies } from './config/strategies.js';
export type { AvailableStrategy, Strategy } from './config/strategies.js';
export { defaults } from './config/defaults.js';

export { balancerEventNames } from './events.js';
export type {
  AccessEvent,
  BackendDownEvent,
  BackendDrainedEvent,
  BackendEjectedEvent,
  BackendErrorEvent,
  BackendRecoveredEvent,
  BackendRef,
  BackendRemovedEvent,
  BackendUpEvent,
  BalancerEventMap,
  BalancerEventName,
  BalancerListener,
  ListeningEvent,
  PanicRoutingEvent,
} from './events.js';

export type { BackendCounters, BackendHealth, BackendStats, BackendStatus, BalancerStats, TotalCounters } from './stats.js';

export {
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
} from './errors.js';
export type { ConfigIssue, LbErrorCode } from './errors.js';

// Discovery: pools that follow DNS (A/AAAA/SRV) or an etcd key prefix (docs/deployment-ha.md).
export {
  dnsDiscoveryDefaults,
  etcdDiscoveryDefaults,
  readEtcdBackends,
  resolveDnsBackends,
  startDnsDiscovery,
  startEtcdDiscovery,
} from './discovery/index.js';
export type {
  DiscoveredBackend,
  Discovery,
  DiscoveryEventMap,
  DiscoveryUpdate,
  DnsDiscoveryOptions,
  EtcdDiscoveryOptions,
} from './discovery/index.js';

// The admin API (stats, Prometheus metrics, live control, dashboard) beside a balancer.
export { startAdminServer } from './admin/index.js';
export type { AdminServer, AdminServerOptions } from './admin/index.js';

// Automatic certificates (docs/acme.md).
export { AcmeManager } from './acme/acme-manager.js';
export type { AcmeCertificateStatus, AcmeManagerOptions, ChallengeResponder } from './acme/acme-manager.js';
export { acmeEventNames } from './acme/acme-events.js';
export type {
  AcmeEventMap,
  AcmeEventName,
  CertificateEvent,
  CertificateExpiringEvent,
  CertificateFailedEvent,
  CertificateRenewedEvent,
} from './acme/acme-events.js';
export type { AcmeConfig } from './config/acme-schema.js';
