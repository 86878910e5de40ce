// GET /metrics: the Prometheus text format 0.0.4, read back by a strict parser, from a
// real balancer under traffic (values agree with stats(), histograms are cumulative with
// `+Inf` equal to `_count`), and from hand-made stats (escaping, every family present).
import { afterEach, describe, expect, it } from 'vitest';

import { escapeLabelValue, renderPrometheus } from '../../src/admin/prometheus.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { backendStats, balancerStats, histogram } from './fixtures.js';
import { parsePrometheus, sampleValue } from './prometheus-parser.js';
import { adminRequest, sendTraffic, startAdmin } from './support.js';

afterEach(runCleanups);

const expectedFamilies = {
  lb_workers: 'gauge',
  lb_strategy_info: 'gauge',
  lb_accepted_connections_total: 'counter',
  lb_active_client_connections: 'gauge',
  lb_requests_total: 'counter',
  lb_responses_total: 'counter',
  lb_bad_requests_total: 'counter',
  lb_no_backend_total: 'counter',
  lb_panic_routed_total: 'counter',
  lb_bad_gateway_total: 'counter',
  lb_gateway_timeout_total: 'counter',
  lb_client_received_bytes_total: 'counter',
  lb_client_sent_bytes_total: 'counter',
  lb_events_dropped_total: 'counter',
  lb_access_log_dropped_total: 'counter',
  lb_worker_errors_total: 'counter',
  lb_backend_weight: 'gauge',
  lb_backend_state: 'gauge',
  lb_backend_health: 'gauge',
  lb_backend_ejected_workers: 'gauge',
  lb_backend_ejections_total: 'counter',
  lb_backend_requests_total: 'counter',
  lb_backend_responses_total: 'counter',
  lb_backend_active_connections: 'gauge',
  lb_backend_idle_connections: 'gauge',
  lb_backend_connections_opened_total: 'counter',
  lb_backend_sent_bytes_total: 'counter',
  lb_backend_received_bytes_total: 'counter',
  lb_backend_connect_errors_total: 'counter',
  lb_backend_errors_total: 'counter',
  lb_backend_retries_total: 'counter',
  lb_backend_time_to_first_byte_seconds: 'histogram',
  lb_backend_request_duration_seconds: 'histogram',
} as const;

describe('GET /metrics from a running balancer', () => {
  it('is well-formed 0.0.4 text whose values agree with stats()', async () => {
    const a = await startHttpBackend('a', { delayMs: () => 10 });
    const b = await startHttpBackend('b');
    const lb = await startBalancer({ backends: [a.address, { address: b.address, weight: 2, state: 'ready' }] });
    const admin = await startAdmin(lb);
    expect(await sendTraffic(lb.port, 60)).toEqual(new Array(60).fill(200));
    // Both draining now: the state gauge says so.
    lb.setBackendState(0, 'drain');
    lb.setBackendState(1, 'drain');
    // The workers close their idle pooled connections as they adopt the change; wait for
    // that, so that /metrics and the stats() compared with it are the same moment.
    await waitUntil('idle pools closed', () => lb.stats().backends.every((backend) => backend.idleConnections === 0));

    const reply = await adminRequest(admin, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheus(reply.text);
    for (const [name, type] of Object.entries(expectedFamilies)) {
      expect(families.get(name)?.type, name).toBe(type);
      expect(families.get(name)?.help, name).not.toBe('');
    }

    const stats = lb.stats();
    expect(sampleValue(families, 'lb_requests_total')).toBe(stats.requests);
    expect(sampleValue(families, 'lb_requests_total')).toBeGreaterThanOrEqual(60);
    expect(sampleValue(families, 'lb_responses_total', { code: '2xx' })).toBe(stats.responses2xx);
    expect(sampleValue(families, 'lb_accepted_connections_total')).toBe(stats.acceptedConnections);
    expect(sampleValue(families, 'lb_client_sent_bytes_total')).toBe(stats.bytesToClients);
    expect(sampleValue(families, 'lb_workers')).toBe(2);
    expect(sampleValue(families, 'lb_strategy_info', { strategy: 'round-robin' })).toBe(1);
    for (const backend of stats.backends) {
      const labels = { backend: String(backend.id), address: backend.address };
      expect(sampleValue(families, 'lb_backend_requests_total', labels)).toBe(backend.requests);
      expect(sampleValue(families, 'lb_backend_responses_total', { ...labels, code: '2xx' })).toBe(backend.responses2xx);
      expect(sampleValue(families, 'lb_backend_weight', labels)).toBe(backend.weight);
      expect(sampleValue(families, 'lb_backend_state', { ...labels, state: 'drain' })).toBe(1);
      expect(sampleValue(families, 'lb_backend_state', { ...labels, state: 'ready' })).toBe(0);
      expect(sampleValue(families, 'lb_backend_health', { ...labels, health: 'unchecked' })).toBe(1);
      expect(sampleValue(families, 'lb_backend_idle_connections', labels)).toBe(backend.idleConnections);
      const count = backend.totalTime.reduce((s, c) => s + c, 0);
      expect(count).toBeGreaterThan(0);
      expect(sampleValue(families, 'lb_backend_request_duration_seconds_count', labels)).toBe(count);
      expect(sampleValue(families, 'lb_backend_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(count);
      expect(sampleValue(families, 'lb_backend_request_duration_seconds_sum', labels)).toBeCloseTo(
        backend.totalTimeSumUs / 1e6,
        9,
      );
      expect(sampleValue(families, 'lb_backend_time_to_first_byte_seconds_count', labels)).toBe(
        backend.timeToFirstByte.reduce((s, c) => s + c, 0),
      );
    }
    // Backend a answers after 10 ms (timers may fire a little early, never 7 ms early): none of its requests can be in the buckets up to 2.5 ms.
    const aLabels = { backend: '0', address: a.address };
    expect(sampleValue(families, 'lb_backend_request_duration_seconds_bucket', { ...aLabels, le: '0.0025' })).toBe(0);
    // Bucket bounds are the data path's, in seconds.
    const les = families
      .get('lb_backend_request_duration_seconds')!
      .samples.filter((s) => s.name.endsWith('_bucket') && s.labels.backend === '0')
      .map((s) => s.labels.le);
    expect(les).toEqual([...stats.latencyBoundsMs.map((ms) => String(ms / 1000)), '+Inf']);
  });

  it('answers 503 before the balancer has started', async () => {
    const a = await startHttpBackend('a');
    const { createBalancer } = await import('../../src/index.js');
    const lb = createBalancer({ listen: '127.0.0.1:0', backends: [a.address] });
    const admin = await startAdmin(lb);
    const reply = await adminRequest(admin, '/metrics');
    expect(reply.status).toBe(503);
    expect(reply.json.error.code).toBe('not_running');
  });
});

describe('renderPrometheus', () => {
  it('escapes label values and keeps every family together', () => {
    const stats = balancerStats({
      backends: [
        backendStats(0, { address: 'quote"back\\slash\nnewline:1', requests: 5 }),
        backendStats(1, {
          totalTime: histogram([
            [1, 3],
            [Infinity, 2],
          ]),
          totalTimeSumUs: 25_000_500,
        }),
      ],
    });
    const text = renderPrometheus(stats, { strategy: 'p2c' });
    expect(text).toContain('lb_backend_requests_total{backend="0",address="quote\\"back\\\\slash\\nnewline:1"} 5');
    const families = parsePrometheus(text);
    expect(sampleValue(families, 'lb_backend_requests_total', { address: 'quote"back\\slash\nnewline:1' })).toBe(5);
    expect(sampleValue(families, 'lb_backend_request_duration_seconds_bucket', { backend: '1', le: '0.001' })).toBe(3);
    expect(sampleValue(families, 'lb_backend_request_duration_seconds_bucket', { backend: '1', le: '10' })).toBe(3);
    expect(sampleValue(families, 'lb_backend_request_duration_seconds_bucket', { backend: '1', le: '+Inf' })).toBe(5);
    expect(sampleValue(families, 'lb_backend_request_duration_seconds_count', { backend: '1' })).toBe(5);
    expect(sampleValue(families, 'lb_backend_request_duration_seconds_sum', { backend: '1' })).toBe(25.0005);
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it('is still well-formed with no backends', () => {
    const families = parsePrometheus(renderPrometheus(balancerStats()));
    expect(families.get('lb_backend_requests_total')?.samples).toEqual([]);
    expect(families.has('lb_strategy_info')).toBe(false);
  });

  it('the test parser rejects what Prometheus would', () => {
    const good = '# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n';
    expect(() => parsePrometheus(good)).not.toThrow();
    expect(() => parsePrometheus(good.trimEnd())).toThrow(/newline/);
    expect(() => parsePrometheus('x_total 1\n')).toThrow(/family/);
    expect(() => parsePrometheus(good + 'x_total 2\n')).toThrow(/duplicate/);
    expect(() => parsePrometheus(good.replace('x_total 1', 'x_total{a="b} 1'))).toThrow();
    expect(() => parsePrometheus(good.replace('x_total 1', 'x_total{a="\\t"} 1'))).toThrow(/escape/);
    const h = (buckets: string) => `# HELP h H.\n# TYPE h histogram\n${buckets}h_sum 1\nh_count 3\n`;
    expect(() => parsePrometheus(h('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 3\n'))).not.toThrow();
    expect(() => parsePrometheus(h('h_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 3\n'))).toThrow(/cumulative/);
    expect(() => parsePrometheus(h('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 4\n'))).toThrow(/_count/);
    expect(() => parsePrometheus(h('h_bucket{le="1"} 1\n'))).toThrow(/\+Inf/);
  });
});
