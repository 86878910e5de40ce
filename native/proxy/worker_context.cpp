#include "proxy/worker_context.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "proxy/frontend_connection.h"

namespace lb::proxy {

WorkerContext::WorkerContext(uint16_t index, reactor::EventLoop& event_loop, stats::WorkerChannels& channels,
                             std::shared_ptr<const ProxyConfig> config)
    : loop(event_loop),
      counters(channels.counters),
      events(channels.events),
      access_log(channels.access_log),
      worker_index(index),
      upstream(index, event_loop, channels),
      edge(index) {
  adopt(std::move(config));
}

WorkerContext::~WorkerContext() {
  close_all_clients();
  upstream.close_idle_pools();
  for (Exchange* exchange : free_exchanges_) delete exchange;
}

Exchange* WorkerContext::take_exchange() {
  if (free_exchanges_.empty()) return new Exchange();
  Exchange* exchange = free_exchanges_.back();
  free_exchanges_.pop_back();
  *exchange = Exchange{};
  return exchange;
}

void WorkerContext::give_exchange(Exchange* exchange) {
  // Keep a bounded number for reuse, enough for a busy worker's concurrency.
  if (free_exchanges_.size() < 4096) {
    free_exchanges_.push_back(exchange);
  } else {
    delete exchange;
  }
}

void WorkerContext::adopt(std::shared_ptr<const ProxyConfig> config) {
  // The group keeps the part it runs on alive through the snapshot's own count.
  upstream.adopt(std::shared_ptr<const upstream::UpstreamSettings>(config, &config->upstream));
  pipes.set_max_in_use(config->bodies.splice_min_bytes == 0 ? 0 : config->bodies.max_pipes);
  ticket_keys = config->ticket_keys;
  config_ = std::move(config);
}

void WorkerContext::emit_error(const char* code, const char* message) {
  stats::Event event;
  event.type = stats::EventType::error;
  event.worker = worker_index;
  event.set_code(code);
  event.set_message(message);
  emit(event);
}

bool WorkerContext::sample_access_log() {
  double rate = config_->access_log_sample_rate;
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  return static_cast<double>(sampler_.next() >> 11) < rate * 9007199254740992.0;  // 2^53
}

void WorkerContext::push_access_record(const stats::AccessRecord& record) {
  if (!access_log.push(record)) counters.access_log_dropped.add();
}

void WorkerContext::emit(const stats::Event& event) {
  if (!events.push(event)) counters.events_dropped.add();
}

bool WorkerContext::adopt_client(FrontendConnection* connection, int fd) {
  if (!loop.add(fd, connection)) return false;
  connection->tracking_index = clients_.size();
  clients_.push_back(connection);
  counters.accepted_connections.add();
  counters.active_client_connections.add();
  return true;
}

void WorkerContext::release_client(FrontendConnection* connection) {
  counters.active_client_connections.sub();
  size_t index = connection->tracking_index;
  if (index < clients_.size() && clients_[index] == connection) {
    clients_[index] = clients_.back();
    clients_[index]->tracking_index = index;
    clients_.pop_back();
  }
  loop.retire(connection);
}

void WorkerContext::replace_client(FrontendConnection* previous, FrontendConnection* next, int fd) {
  loop.remove(fd);
  loop.add(fd, next);  // a socket that was registered before cannot be refused now
  size_t index = previous->tracking_index;
  if (index < clients_.size() && clients_[index] == previous) {
    clients_[index] = next;
    next->tracking_index = index;
  }
  loop.retire(previous);
}

void WorkerContext::begin_drain() {
  draining_ = true;
  // drain() may close (and untrack) the connection: walk a copy.
  std::vector<FrontendConnection*> snapshot = clients_;
  for (FrontendConnection* connection : snapshot) connection->drain();
  upstream.close_idle_pools();
}

void WorkerContext::close_all_clients() {
  std::vector<FrontendConnection*> snapshot = clients_;
  for (FrontendConnection* connection : snapshot) connection->close();
}

void WorkerContext::count_failure(const OutcomeRule& rule, upstream::UpstreamBackend* backend) {
  switch (rule.tally) {
    case Tally::bad_requests: counters.bad_requests.add(); break;
    case Tally::no_backend: counters.no_backend.add(); break;
    case Tally::bad_gateway: counters.bad_gateway.add(); break;
    case Tally::gateway_timeout: counters.gateway_timeout.add(); break;
  }
  if (backend && rule.backend_failure) {
    backend->counters->backend_errors.add();
    upstream.report_failure(*backend, rule.backend_failure);
  }
}

}  // namespace lb::proxy
