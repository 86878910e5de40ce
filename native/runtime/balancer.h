// The running balancer, independent of Node: it binds the listeners, owns the workers,
// publishes configuration snapshots and sums their counters. The N-API binding
// (native/addon) is a thin wrapper around it; C++ tests drive it directly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/listener.h"
#include "net/socket_address.h"
#include "protection/edge_stats.h"
#include "proxy/proxy_config.h"
#include "runtime/worker.h"
#include "stats/tls_counters.h"
#include "stats/worker_channels.h"

namespace lb::runtime {

struct ListenSettings {
  // One address per listener, in configuration order (ProxyConfig::listeners has the
  // same order); port 0 picks a free port for that listener.
  std::vector<net::SocketAddress> addresses;
  int backlog = 0;  // 0: somaxconn
  uint32_t workers = 1;
};

struct BackendStats {
  uint32_t id = 0;
  // Latency histograms (bucket counts, not cumulative; bounds in LatencyHistogram).
  uint64_t ttfb_buckets[stats::LatencyHistogram::kBuckets] = {};
  uint64_t total_buckets[stats::LatencyHistogram::kBuckets] = {};
  uint64_t ttfb_sum_us = 0, total_sum_us = 0;
  uint64_t requests = 0, responses_by_class[6] = {}, connect_errors = 0, backend_errors = 0, retries = 0,
           bytes_to_backend = 0, bytes_from_backend = 0, active_connections = 0, idle_connections = 0,
           connections_opened = 0, ejections = 0, ejected_workers = 0;
  // TLS backends: full and resumed handshakes, failed ones.
  uint64_t tls_handshakes_full = 0, tls_handshakes_resumed = 0, tls_handshake_failures = 0;
  // maxConnections and its queue, for the whole process.
  uint64_t in_flight = 0, queued = 0, dequeued = 0, queue_wait_us_total = 0, queue_timeouts = 0, queue_full = 0;
};

// HTTP/2 to clients, summed over workers.
struct Http2Stats {
  uint64_t connections = 0, requests = 0, streams_active = 0, resets_by_client = 0, refused_streams = 0,
           malformed_requests = 0, stalled_streams_reset = 0, header_list_too_large = 0, exchanges_cancelled = 0;
  uint64_t ended_by[stats::WorkerCounters::kH2Defences] = {};  // indexed by http2::Defence
};

struct BalancerStats {
  uint32_t workers = 0;
  uint64_t accepted_connections = 0, active_client_connections = 0, requests = 0, responses_by_class[6] = {},
           bad_requests = 0, no_backend = 0, panic_routed = 0, bad_gateway = 0, gateway_timeout = 0,
           bytes_from_clients = 0, bytes_to_clients = 0, bodies_copied = 0, bodies_spliced = 0, body_bytes_spliced = 0,
           events_dropped = 0, access_log_dropped = 0;
  std::vector<BackendStats> backends;
  protection::EdgeStats protection;
  stats::TlsTotals tls;
  // TLS listeners: whether kTLS was asked for and what this machine offers for it.
  bool ktls_requested = false;
  tls::KtlsSupport ktls_support;
  Http2Stats http2;
};

class Balancer {
 public:
  Balancer() = default;
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Binds one socket per listener and worker (SO_REUSEPORT) and starts the workers. `notify_events` is called from a
  // worker thread when its event ring goes from empty to non-empty. False with `error`
  // set if a listener could not be bound.
  bool start(const ListenSettings& listen, proxy::ProxyConfig config, std::function<void()> notify_events,
             net::ListenError& error);
  // Moves listener `listener` to a new address without a gap: binds the new sockets
  // first (false with `error` if that fails; nothing changes then), then each worker
  // swaps. Same address: nothing to do. The worker count cannot change while running.
  bool rebind(size_t listener, const net::SocketAddress& address, int backlog, net::ListenError& error);
  // Publishes a new configuration to every worker. False with `error` if its listener
  // count differs from the running one (listeners cannot be added or removed live).
  bool update(proxy::ProxyConfig config, std::string& error);
  // Publishes the current configuration again with another ACME challenge table (null:
  // ACME off), through the same snapshot path as update().
  void set_acme_challenges(std::shared_ptr<const http1::AcmeChallengeTable> table);
  // The same for the TLS-ALPN-01 challenges every TLS listener answers (null: none).
  void set_acme_alpn_challenges(std::shared_ptr<const tls::AcmeAlpnChallenges> challenges);
  // Replaces the session ticket keys (the control plane rotates them on a schedule) and
  // publishes them through the same snapshot path: new connections seal with keys[0].
  void set_ticket_keys(tls::TicketKeyRing keys);
  // Ends a passive ejection of `backend_id` on every worker that has it ejected (an
  // active health check passed). Returns how many workers were told.
  uint32_t clear_ejection(uint32_t backend_id);
  // Asks every worker to stop (see Worker::request_stop); returns at once.
  void request_stop(uint32_t deadline_ms);
  // Waits for every worker thread to end.
  void join();

  bool running() const { return !workers_.empty(); }
  size_t listener_count() const { return listen_addresses_.size(); }
  // The port listener `listener` is bound to (the real one when configured with 0).
  uint16_t bound_port(size_t listener = 0) const { return listener < bound_ports_.size() ? bound_ports_[listener] : 0; }
  BalancerStats stats() const;
  // Drains every worker's event ring and access-log ring (consumer side).
  void drain_events(const std::function<void(const stats::Event&)>& visit);
  void drain_access_log(const std::function<void(const stats::AccessRecord&)>& visit);

 private:
  // Gives every backend in `config` its counter set (one per id, kept across updates).
  void attach_counters(proxy::ProxyConfig& config);
  // Gives the snapshot the balancer's session ticket keys (those of the start config, or
  // made at start; replaced by set_ticket_keys, kept across updates so that tickets
  // resume after a certificate swap).
  void attach_ticket_keys(proxy::ProxyConfig& config) const;

  void publish(std::shared_ptr<const proxy::ProxyConfig> snapshot);

  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<const proxy::ProxyConfig> current_;  // the snapshot last published
  std::unique_ptr<stats::WorkerChannels[]> channels_;
  std::map<uint32_t, std::shared_ptr<stats::BackendCounterSet>> backend_counters_;
  // Edge protection state for the whole process (connections per client, counters): one
  // per run, handed to every snapshot.
  std::shared_ptr<protection::EdgeShared> edge_shared_;
  std::vector<uint32_t> current_backend_ids_;
  tls::TicketKeyRing ticket_keys_;
  uint32_t worker_count_ = 0;
  std::vector<uint16_t> bound_ports_;                 // per listener
  std::vector<net::SocketAddress> listen_addresses_;  // per listener, as configured (port 0 stays 0)
  bool request_response_ = false;                     // HTTP listeners: deferred accept, delayed ACK
};

}  // namespace lb::runtime
