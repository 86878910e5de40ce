// The admin API, Prometheus metrics, the live dashboard and `lb-native top`'s rendering.
export { startAdminServer } from './admin-server.js';
export type { AdminServer, AdminServerOptions } from './admin-server.js';
export type { AdminBalancer, ReloadCallback, ReloadResult } from './routes.js';
export { prometheusContentType, renderPrometheus } from './prometheus.js';
export type { PrometheusInfo } from './prometheus.js';
export { renderTop } from './top-renderer.js';
export type { TopOptions } from './top-renderer.js';
export { histogramDelta, percentileMs } from './histogram.js';
