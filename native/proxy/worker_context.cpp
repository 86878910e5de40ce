#include "proxy/worker_context.h"

#include <cstdio>
#include "balancing/hash.h"
#include "core/clock.h"
#include <cstring>

#include "proxy/backend_connection.h"
#include "proxy/frontend_connection.h"

namespace lb::proxy {

WorkerContext::WorkerContext(uint16_t index, core::EventLoop& event_loop,
                             stats::WorkerCounters& worker_counters, stats::EventRing& event_ring,
                             std::shared_ptr<const ProxyConfig> config)
    : loop(event_loop), counters(worker_counters), events(event_ring), worker_index(index) {
  adopt(std::move(config));
}

WorkerContext::~WorkerContext() {
  close_all_clients();
  close_idle_pools();
}

void WorkerContext::adopt(std::shared_ptr<const ProxyConfig> config) {
  if (!strategy_ || strategy_kind_ != config->strategy) {
    balancing::StrategySettings settings;
    settings.ewma_decay_ms = config->ewma_decay_ms;
    settings.seed = balancing::mix(core::monotonic_us(), worker_index + 1);
    strategy_ = balancing::make_strategy(config->strategy, settings);
    strategy_kind_ = config->strategy;
  }
  std::unordered_map<uint32_t, std::unique_ptr<balancing::BackendRuntime>> previous;
  previous.swap(backends_);
  ordered_backends_.clear();
  for (const balancing::BackendSpec& spec : config->backends) {
    std::unique_ptr<balancing::BackendRuntime> runtime;
    auto it = previous.find(spec.id);
    if (it != previous.end() && same_address(it->second->spec.address, spec.address)) {
      runtime = std::move(it->second);
      previous.erase(it);
      runtime->spec = spec;
    } else {
      // New, or the same id at a new address (then the old one retires below).
      runtime = std::make_unique<balancing::BackendRuntime>();
      runtime->spec = spec;
      runtime->counters = &spec.counters->slot(worker_index);
      runtime->identity = balancing::hash_bytes(spec.label);
    }
    if (runtime->spec.state != balancing::BackendState::ready) close_pool(*runtime);
    ordered_backends_.push_back(runtime.get());
    backends_.emplace(spec.id, std::move(runtime));
  }
  // Backends no longer configured take no new request; idle connections close now, and
  // the runtime is freed once its last connection has closed.
  for (auto& [id, runtime] : previous) {
    runtime->removed = true;
    close_pool(*runtime);
    if (runtime->open_connections > 0) retiring_.push_back(std::move(runtime));
  }
  config_ = std::move(config);
}

bool WorkerContext::same_address(const net::SocketAddress& a, const net::SocketAddress& b) {
  return a.length == b.length && std::memcmp(&a.storage, &b.storage, a.length) == 0;
}

void WorkerContext::close_pool(balancing::BackendRuntime& runtime) {
  runtime.pool.close_all([](BackendConnection* connection) { connection->close(); });
}

balancing::BackendRuntime* WorkerContext::pick_backend(balancing::PickRequest request) {
  request.now_ms = loop.now_ms();
  return strategy_->pick(ordered_backends_, request);
}

void WorkerContext::report_connect_failure(balancing::BackendRuntime& backend, const char* reason) {
  backend.consecutive_failures++;
  if (backend.consecutive_failures >= config_->passive_fail_threshold) {
    backend.retry_at_ms = loop.now_ms() + config_->passive_retry_ms;
    if (!backend.down) {
      backend.down = true;
      stats::Event event;
      event.type = stats::EventType::backend_down;
      event.worker = worker_index;
      event.backend_id = backend.spec.id;
      event.set_code("LB_BACKEND_DOWN");
      char message[160];
      std::snprintf(message, sizeof(message), "%s: %u consecutive connect failures (%s)",
                    backend.spec.label.c_str(), backend.consecutive_failures, reason);
      event.set_message(message);
      emit(event);
    }
  }
}

void WorkerContext::report_connect_success(balancing::BackendRuntime& backend) {
  backend.consecutive_failures = 0;
  if (backend.down) {
    backend.down = false;
    stats::Event event;
    event.type = stats::EventType::backend_up;
    event.worker = worker_index;
    event.backend_id = backend.spec.id;
    event.set_code("LB_BACKEND_UP");
    event.set_message(backend.spec.label.c_str());
    emit(event);
  }
}

void WorkerContext::backend_connection_opened(balancing::BackendRuntime& backend) {
  backend.open_connections++;
}

void WorkerContext::backend_connection_closed(balancing::BackendRuntime& backend) {
  backend.open_connections--;
  if (!backend.removed || backend.open_connections > 0) return;
  for (auto it = retiring_.begin(); it != retiring_.end(); ++it) {
    if (it->get() == &backend) {
      retiring_.erase(it);
      return;
    }
  }
}

void WorkerContext::emit_error(const char* code, const char* message) {
  stats::Event event;
  event.type = stats::EventType::error;
  event.worker = worker_index;
  event.set_code(code);
  event.set_message(message);
  emit(event);
}

void WorkerContext::emit(const stats::Event& event) {
  if (!events.push(event)) counters.events_dropped.add();
}

void WorkerContext::track(FrontendConnection* connection) {
  connection->tracking_index = clients_.size();
  clients_.push_back(connection);
}

void WorkerContext::untrack(FrontendConnection* connection) {
  size_t index = connection->tracking_index;
  if (index >= clients_.size() || clients_[index] != connection) return;
  clients_[index] = clients_.back();
  clients_[index]->tracking_index = index;
  clients_.pop_back();
}

void WorkerContext::begin_drain() {
  draining_ = true;
  // drain() may close (and untrack) the connection: walk a copy.
  std::vector<FrontendConnection*> snapshot = clients_;
  for (FrontendConnection* connection : snapshot) connection->drain();
  close_idle_pools();
}

void WorkerContext::close_all_clients() {
  std::vector<FrontendConnection*> snapshot = clients_;
  for (FrontendConnection* connection : snapshot) connection->close();
}

void WorkerContext::close_idle_pools() {
  for (auto& [id, runtime] : backends_) close_pool(*runtime);
}

}  // namespace lb::proxy
