// Per-worker and per-backend-per-worker counters. Each worker writes only its own slot;
// the control plane sums the slots (Balancer::stats). Cache-line aligned so two workers
// never write the same line.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stats/counter.h"
#include "stats/latency_histogram.h"
#include "stats/tls_counters.h"

namespace lb::stats {

struct alignas(64) WorkerCounters {
  Counter accepted_connections;
  Counter active_client_connections;  // gauge
  Counter requests;
  Counter responses_by_class[6];  // index status / 100 (1..5); 0 unused
  Counter bad_requests;
  Counter no_backend;
  // Picks made in panic: every usable backend was ejected, so an ejected one was tried
  // rather than answering 502/503 (Envoy's panic routing).
  Counter panic_routed;
  Counter bad_gateway;
  Counter gateway_timeout;
  Counter bytes_from_clients;
  Counter bytes_to_clients;
  // Which way message bodies went (requests and responses alike): through user-space
  // buffers (copied), or, for large Content-Length bodies between two plain sockets, at
  // least partly through a pipe with splice(2) (spliced), and the bytes that went so.
  Counter bodies_copied;
  Counter bodies_spliced;
  Counter body_bytes_spliced;
  Counter events_dropped;
  Counter access_log_dropped;
  TlsCounters tls;  // TLS listeners: handshakes and record-layer paths
  // HTTP/2 to clients (requests above count both protocols; h2_requests the h2 share).
  Counter h2_connections;
  Counter h2_requests;
  Counter h2_streams_active;  // gauge
  Counter h2_resets_by_client;
  Counter h2_refused_streams;  // over max concurrent streams
  Counter h2_malformed_requests;
  Counter h2_stalled_streams_reset;
  Counter h2_header_list_too_large;
  Counter h2_exchanges_cancelled;  // backend exchanges cut short by a stream reset
  // Connections ended by each defence, indexed by http2::Defence (index 0, none, unused).
  static constexpr size_t kH2Defences = 12;
  Counter h2_ended_by[kH2Defences];

  void count_response(uint16_t status) {
    unsigned klass = status / 100;
    if (klass >= 1 && klass <= 5) responses_by_class[klass].add();
  }
};

struct alignas(64) BackendWorkerCounters {
  Counter requests;
  Counter responses_by_class[6];
  Counter connect_errors;
  Counter backend_errors;
  Counter retries;
  Counter bytes_to_backend;
  Counter bytes_from_backend;
  Counter active_connections;  // gauge
  Counter idle_connections;    // gauge
  Counter connections_opened;
  // TLS backends: handshakes completed in full or by resuming the saved session, and
  // handshakes that failed (certificate not verified, refused, closed, timed out not
  // included: that is a connect error).
  Counter tls_handshakes_full;
  Counter tls_handshakes_resumed;
  Counter tls_handshake_failures;
  Counter ejections;
  Counter ejected_until_ms;  // monotonic ms; the backend is ejected on this worker until then
  // From the request head being parsed to the response head, and to the response's end.
  LatencyHistogram time_to_first_byte;
  LatencyHistogram total_time;

  void count_response(uint16_t status) {
    unsigned klass = status / 100;
    if (klass >= 1 && klass <= 5) responses_by_class[klass].add();
  }
};

}  // namespace lb::stats
