#include "runtime/balancer.h"

#include "reactor/clock.h"

#include <cstring>
#include <string>

namespace lb::runtime {

Balancer::~Balancer() {
  request_stop(0);
  join();
}

void Balancer::attach_counters(proxy::ProxyConfig& config) {
  current_backend_ids_.clear();
  for (balancing::BackendSpec& spec : config.upstream.backends) {
    auto& counters = backend_counters_[spec.id];
    if (!counters) counters = std::make_shared<stats::BackendCounterSet>(worker_count_);
    spec.counters = counters;
    current_backend_ids_.push_back(spec.id);
  }
  config.protection.shared = edge_shared_;
}

void Balancer::attach_ticket_keys(proxy::ProxyConfig& config) const { config.ticket_keys = ticket_keys_; }

bool Balancer::start(const ListenSettings& listen, proxy::ProxyConfig config, std::function<void()> notify_events,
                     net::ListenError& error) {
  if (running()) {
    error.message = "already running";
    return false;
  }
  worker_count_ = listen.workers > 0 ? listen.workers : 1;
  // HTTP clients speak first and get one answer per request; a TCP relay does not know
  // its protocol (the server may speak first). The mode cannot change while running.
  request_response_ = config.mode != proxy::ProxyMode::tcp;
  if (listen.addresses.empty()) {
    error.message = "no listener configured";
    return false;
  }
  if (!config.listeners.empty() && config.listeners.size() != listen.addresses.size()) {
    error.message = "listener settings do not match the listen addresses";
    return false;
  }
  // Bind every socket before starting any worker, so a bind failure leaves nothing
  // running. With port 0, each listener's first socket picks its port and the other
  // workers' sockets for that listener share it.
  std::vector<std::vector<net::Listener>> per_worker(worker_count_);
  listen_addresses_ = listen.addresses;
  bound_ports_.assign(listen.addresses.size(), 0);
  for (size_t slot = 0; slot < listen.addresses.size(); ++slot) {
    net::SocketAddress address = listen.addresses[slot];
    for (uint32_t i = 0; i < worker_count_; ++i) {
      net::Listener listener = net::Listener::open(address, listen.backlog, request_response_, error);
      if (!listener.valid()) return false;
      if (i == 0) {
        bound_ports_[slot] = listener.bound_port();
        net::SocketAddress::set_port(address, bound_ports_[slot]);
      }
      per_worker[i].push_back(std::move(listener));
    }
  }

  // The control plane's ticket keys if it gave some (it rotates them later through
  // set_ticket_keys), else one random key for the balancer's life.
  if (config.ticket_keys.size() > 0) {
    ticket_keys_ = config.ticket_keys;
  } else {
    tls::TicketKey key;
    std::string keys_error;
    if (!tls::TicketKey::generate(key) || !tls::TicketKeyRing::from_keys({key}, ticket_keys_, keys_error)) {
      error.message = "cannot make session ticket keys: " + (keys_error.empty() ? "no random bytes" : keys_error);
      return false;
    }
  }
  attach_ticket_keys(config);
  channels_ = std::make_unique<stats::WorkerChannels[]>(worker_count_);
  edge_shared_ = std::make_shared<protection::EdgeShared>(worker_count_);
  attach_counters(config);
  auto snapshot = std::make_shared<const proxy::ProxyConfig>(std::move(config));
  current_ = snapshot;
  for (uint32_t i = 0; i < worker_count_; ++i) {
    channels_[i].events.set_notify(notify_events);
    channels_[i].access_log.set_notify(notify_events);
    workers_.push_back(
        std::make_unique<Worker>(static_cast<uint16_t>(i), std::move(per_worker[i]), snapshot, channels_[i]));
  }
  for (auto& worker : workers_) worker->start();
  return true;
}

bool Balancer::rebind(size_t slot, const net::SocketAddress& address, int backlog, net::ListenError& error) {
  if (!running()) {
    error.message = "not running";
    return false;
  }
  if (slot >= listen_addresses_.size()) {
    error.message =
        "no listener " + std::to_string(slot) + " (" + std::to_string(listen_addresses_.size()) + " running)";
    return false;
  }
  const net::SocketAddress& current = listen_addresses_[slot];
  if (address.length == current.length && std::memcmp(&address.storage, &current.storage, address.length) == 0) {
    return true;  // same address: the sockets stay as they are
  }
  std::vector<net::Listener> listeners;
  net::SocketAddress bound = address;
  uint16_t port = 0;
  for (size_t i = 0; i < workers_.size(); ++i) {
    net::Listener listener = net::Listener::open(bound, backlog, request_response_, error);
    if (!listener.valid()) return false;  // the old listeners keep serving
    if (i == 0) {
      port = listener.bound_port();
      net::SocketAddress::set_port(bound, port);
    }
    listeners.push_back(std::move(listener));
  }
  for (size_t i = 0; i < workers_.size(); ++i) workers_[i]->replace_listener(slot, std::move(listeners[i]));
  listen_addresses_[slot] = address;
  bound_ports_[slot] = port;
  return true;
}

bool Balancer::update(proxy::ProxyConfig config, std::string& error) {
  if (!running()) return true;
  if (!config.listeners.empty() && config.listeners.size() != listen_addresses_.size()) {
    error = "listeners: cannot add or remove listeners while running (" + std::to_string(listen_addresses_.size()) +
            " running, got " + std::to_string(config.listeners.size()) + "); restart to change them";
    return false;
  }
  attach_ticket_keys(config);
  attach_counters(config);
  publish(std::make_shared<const proxy::ProxyConfig>(std::move(config)));
  return true;
}

void Balancer::set_acme_challenges(std::shared_ptr<const http1::AcmeChallengeTable> table) {
  if (!running() || !current_) return;
  auto copy = std::make_shared<proxy::ProxyConfig>(*current_);
  copy->acme_challenges = std::move(table);
  publish(std::move(copy));
}

void Balancer::set_acme_alpn_challenges(std::shared_ptr<const tls::AcmeAlpnChallenges> challenges) {
  if (!running() || !current_) return;
  auto copy = std::make_shared<proxy::ProxyConfig>(*current_);
  copy->acme_alpn_challenges = std::move(challenges);
  publish(std::move(copy));
}

void Balancer::set_ticket_keys(tls::TicketKeyRing keys) {
  ticket_keys_ = std::move(keys);
  if (!running() || !current_) return;
  // Every TLS listener seals with them, one still waiting for its certificate included.
  bool any_tls = false;
  for (const proxy::ListenerPolicy& listener : current_->listeners) any_tls = any_tls || listener.tls.enabled();
  if (!any_tls) return;
  auto copy = std::make_shared<proxy::ProxyConfig>(*current_);
  attach_ticket_keys(*copy);
  publish(std::move(copy));
}

void Balancer::publish(std::shared_ptr<const proxy::ProxyConfig> snapshot) {
  current_ = snapshot;
  for (auto& worker : workers_) worker->publish(snapshot);
}

void Balancer::request_stop(uint32_t deadline_ms) {
  for (auto& worker : workers_) worker->request_stop(deadline_ms);
}

void Balancer::join() {
  for (auto& worker : workers_) worker->join();
  workers_.clear();
}

uint32_t Balancer::clear_ejection(uint32_t backend_id) {
  auto it = backend_counters_.find(backend_id);
  if (it == backend_counters_.end()) return 0;
  // Only workers that have it ejected are woken: a passing check is routine.
  uint64_t now_ms = reactor::monotonic_ms();
  uint32_t told = 0;
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    if (it->second->slot(w).ejected_until_ms.get() <= now_ms) continue;
    workers_[w]->clear_ejection(backend_id);
    ++told;
  }
  return told;
}

BalancerStats Balancer::stats() const {
  BalancerStats total;
  total.workers = worker_count_;
  if (!channels_) return total;
  for (uint32_t w = 0; w < worker_count_; ++w) {
    const stats::WorkerCounters& c = channels_[w].counters;
    total.accepted_connections += c.accepted_connections.get();
    total.active_client_connections += c.active_client_connections.get();
    total.requests += c.requests.get();
    for (int k = 1; k <= 5; ++k) total.responses_by_class[k] += c.responses_by_class[k].get();
    total.bad_requests += c.bad_requests.get();
    total.no_backend += c.no_backend.get();
    total.panic_routed += c.panic_routed.get();
    total.bad_gateway += c.bad_gateway.get();
    total.gateway_timeout += c.gateway_timeout.get();
    total.bytes_from_clients += c.bytes_from_clients.get();
    total.bytes_to_clients += c.bytes_to_clients.get();
    total.bodies_copied += c.bodies_copied.get();
    total.bodies_spliced += c.bodies_spliced.get();
    total.body_bytes_spliced += c.body_bytes_spliced.get();
    total.events_dropped += c.events_dropped.get();
    total.access_log_dropped += c.access_log_dropped.get();
    total.tls.add(c.tls);
    Http2Stats& h2 = total.http2;
    h2.connections += c.h2_connections.get();
    h2.requests += c.h2_requests.get();
    h2.streams_active += c.h2_streams_active.get();
    h2.resets_by_client += c.h2_resets_by_client.get();
    h2.refused_streams += c.h2_refused_streams.get();
    h2.malformed_requests += c.h2_malformed_requests.get();
    h2.stalled_streams_reset += c.h2_stalled_streams_reset.get();
    h2.header_list_too_large += c.h2_header_list_too_large.get();
    h2.exchanges_cancelled += c.h2_exchanges_cancelled.get();
    for (size_t d = 0; d < stats::WorkerCounters::kH2Defences; ++d) h2.ended_by[d] += c.h2_ended_by[d].get();
  }
  // kTLS: asked for if any TLS listener asks; what the machine offers is the same for
  // every context (probed when each was built), so the first one's answer stands.
  bool have_support = false;
  if (current_) {
    for (const proxy::ListenerPolicy& listener : current_->listeners) {
      const tls::TlsServerContext* context = listener.tls.context.get();
      if (!context) continue;
      total.ktls_requested = total.ktls_requested || context->ktls_requested();
      if (!have_support) total.ktls_support = context->ktls_support();
      have_support = true;
    }
  }
  uint64_t now_ms = reactor::monotonic_ms();
  for (uint32_t id : current_backend_ids_) {
    auto it = backend_counters_.find(id);
    if (it == backend_counters_.end()) continue;
    BackendStats backend;
    backend.id = id;
    const stats::BackendLoad& load = it->second->load();
    backend.in_flight = load.in_flight.load(std::memory_order_relaxed);
    backend.queued = load.queued.load(std::memory_order_relaxed);
    backend.dequeued = load.dequeued.load(std::memory_order_relaxed);
    backend.queue_wait_us_total = load.wait_us_total.load(std::memory_order_relaxed);
    backend.queue_timeouts = load.queue_timeouts.load(std::memory_order_relaxed);
    backend.queue_full = load.queue_full.load(std::memory_order_relaxed);
    for (uint32_t w = 0; w < worker_count_; ++w) {
      const stats::BackendWorkerCounters& c = it->second->slot(w);
      backend.requests += c.requests.get();
      for (int k = 1; k <= 5; ++k) backend.responses_by_class[k] += c.responses_by_class[k].get();
      backend.connect_errors += c.connect_errors.get();
      backend.backend_errors += c.backend_errors.get();
      backend.retries += c.retries.get();
      backend.bytes_to_backend += c.bytes_to_backend.get();
      backend.bytes_from_backend += c.bytes_from_backend.get();
      backend.active_connections += c.active_connections.get();
      backend.idle_connections += c.idle_connections.get();
      backend.connections_opened += c.connections_opened.get();
      backend.tls_handshakes_full += c.tls_handshakes_full.get();
      backend.tls_handshakes_resumed += c.tls_handshakes_resumed.get();
      backend.tls_handshake_failures += c.tls_handshake_failures.get();
      backend.ejections += c.ejections.get();
      if (c.ejected_until_ms.get() > now_ms) backend.ejected_workers++;
      for (size_t b = 0; b < stats::LatencyHistogram::kBuckets; ++b) {
        backend.ttfb_buckets[b] += c.time_to_first_byte.bucket(b);
        backend.total_buckets[b] += c.total_time.bucket(b);
      }
      backend.ttfb_sum_us += c.time_to_first_byte.sum_us();
      backend.total_sum_us += c.total_time.sum_us();
    }
    total.backends.push_back(backend);
  }
  if (edge_shared_) total.protection = protection::sum_edge_stats(*edge_shared_);
  return total;
}

void Balancer::drain_events(const std::function<void(const stats::Event&)>& visit) {
  if (!channels_) return;
  for (uint32_t w = 0; w < worker_count_; ++w) channels_[w].events.drain(visit);
}

void Balancer::drain_access_log(const std::function<void(const stats::AccessRecord&)>& visit) {
  if (!channels_) return;
  for (uint32_t w = 0; w < worker_count_; ++w) channels_[w].access_log.drain(visit);
}

}  // namespace lb::runtime
