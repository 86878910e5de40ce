#include "proxy/worker_context.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "balancing/hash.h"
#include "core/clock.h"
#include "proxy/backend_connection.h"
#include "proxy/frontend_connection.h"

namespace lb::proxy {

WorkerContext::WorkerContext(uint16_t index, core::EventLoop& event_loop,
                             stats::WorkerChannels& channels,
                             std::shared_ptr<const ProxyConfig> config)
    : loop(event_loop),
      counters(channels.counters),
      events(channels.events),
      access_log(channels.access_log),
      worker_index(index) {
  adopt(std::move(config));
}

WorkerContext::~WorkerContext() {
  close_all_clients();
  close_idle_pools();
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
      bool health_came_back = !runtime->spec.healthy && spec.healthy;
      runtime->spec = spec;
      // Active checks reached `rise`: whatever passive ejection is still running ends.
      if (health_came_back && (runtime->awaiting_recovery || runtime->ejected(loop.now_ms()))) {
        readmit(*runtime, "active health checks passed");
      }
    } else {
      // New, or the same id at a new address (then the old one retires below).
      runtime = std::make_unique<balancing::BackendRuntime>();
      runtime->spec = spec;
      runtime->counters = &spec.counters->slot(worker_index);
      runtime->identity = balancing::hash_bytes(spec.label);
      runtime->available_since_ms = loop.now_ms();  // slow start applies to new backends too
    }
    if (!runtime->takes_new_requests()) close_pool(*runtime);
    ordered_backends_.push_back(runtime.get());
    backends_.emplace(spec.id, std::move(runtime));
  }
  config_ = std::move(config);
  // Backends no longer configured take no new request; idle connections close now, and
  // the runtime is freed once its last connection has closed.
  for (auto& [id, runtime] : previous) {
    runtime->removed = true;
    close_pool(*runtime);
    check_drained(*runtime);
    retiring_.push_back(std::move(runtime));  // freed by collect_retired()
  }
  for (balancing::BackendRuntime* runtime : ordered_backends_) check_drained(*runtime);
}

bool WorkerContext::same_address(const net::SocketAddress& a, const net::SocketAddress& b) {
  return a.length == b.length && std::memcmp(&a.storage, &b.storage, a.length) == 0;
}

void WorkerContext::close_pool(balancing::BackendRuntime& runtime) {
  runtime.pool.close_all([](BackendConnection* connection) { connection->close(); });
}

balancing::BackendRuntime* WorkerContext::pick_backend(balancing::PickRequest request) {
  request.now_ms = loop.now_ms();
  request.slow_start_ms = config_->outlier.slow_start_ms;
  if (balancing::BackendRuntime* backend = strategy_->pick(ordered_backends_, request)) return backend;
  balancing::BackendRuntime* backend = nullptr;
  for (balancing::Reach reach :
       {balancing::Reach::ejected, balancing::Reach::unhealthy, balancing::Reach::in_service}) {
    request.reach = reach;
    backend = strategy_->pick(ordered_backends_, request);
    if (backend) break;
  }
  if (!backend) return nullptr;
  counters.panic_routed.add();
  uint64_t now = request.now_ms;
  if (panic_reported_ms_ == 0 || now - panic_reported_ms_ >= 1000) {
    panic_reported_ms_ = now;
    char message[160];
    std::snprintf(message, sizeof(message),
                  "no backend is eligible (ejected or down); trying %s (%s%s)", backend->spec.label.c_str(),
                  backend->ejected(now) ? "ejected" : "",
                  backend->spec.healthy ? "" : (backend->ejected(now) ? ", down by health checks" : "down by health checks"));
    emit_backend_event(stats::EventType::panic_routing, *backend, message);
  }
  return backend;
}

void WorkerContext::begin_exchange(balancing::BackendRuntime& backend) {
  backend.exchanges_in_flight++;
  backend.counters->requests.add();
  // Each request earns its share of a retry.
  retry_tokens_ += config_->retries.budget_percent / 100.0;
}

void WorkerContext::end_exchange(balancing::BackendRuntime& backend) {
  backend.exchanges_in_flight--;
  check_drained(backend);
}

void WorkerContext::check_drained(balancing::BackendRuntime& backend) {
  if (backend.takes_new_requests()) {
    backend.drained_reported = false;
    return;
  }
  if (backend.exchanges_in_flight == 0 && !backend.drained_reported) {
    backend.drained_reported = true;
    emit_backend_event(stats::EventType::backend_drained, backend, backend.spec.label.c_str());
  }
}

bool WorkerContext::take_retry_token() {
  // The floor: min_per_second retries a second are always allowed, banked for ten
  // seconds (a full bank at start), so a burst of failures right after start or after a
  // quiet period can still be retried; beyond that, retries live on what requests paid in.
  const RetryPolicy& policy = config_->retries;
  double cap = policy.min_per_second * 10.0 + 100.0;
  uint64_t now = loop.now_ms();
  if (retry_refilled_ms_ == 0) {
    retry_refilled_ms_ = now;
    retry_tokens_ = cap;
  }
  retry_tokens_ += policy.min_per_second * static_cast<double>(now - retry_refilled_ms_) / 1000.0;
  retry_refilled_ms_ = now;
  if (retry_tokens_ > cap) retry_tokens_ = cap;
  if (retry_tokens_ < 1.0) return false;
  retry_tokens_ -= 1.0;
  return true;
}

size_t WorkerContext::ejected_count() const {
  size_t ejected = 0;
  for (const balancing::BackendRuntime* backend : ordered_backends_) {
    if (backend->ejected(loop.now_ms())) ++ejected;
  }
  return ejected;
}

void WorkerContext::report_failure(balancing::BackendRuntime& backend, const char* reason) {
  const OutlierDetection& outlier = config_->outlier;
  backend.consecutive_failures++;
  if (outlier.consecutive_failures == 0 || backend.consecutive_failures < outlier.consecutive_failures) {
    return;
  }
  uint64_t now = loop.now_ms();
  if (backend.ejected(now)) return;
  // Envoy's cap: never eject so many that the rest could not carry the load.
  size_t total = ordered_backends_.size();
  if ((ejected_count() + 1) * 100 > total * outlier.max_ejection_percent) return;
  // Each ejection lasts longer than the last, but time in service earns that back (one
  // step per base ejection time since the backend was last readmitted), and no ejection
  // lasts more than ten base times (Envoy's defaults: 30 s base, 300 s at most).
  uint64_t base = outlier.base_ejection_ms;
  if (base > 0 && now > backend.available_since_ms) {
    uint64_t earned = (now - backend.available_since_ms) / base;
    backend.ejections -= static_cast<uint32_t>(std::min<uint64_t>(earned, backend.ejections));
  }
  backend.ejections = std::min<uint32_t>(backend.ejections + 1, kMaxEjectionMultiplier);
  uint64_t duration = base * backend.ejections;
  backend.ejected_until_ms = now + duration;
  backend.available_since_ms = backend.ejected_until_ms;  // slow start begins after
  backend.awaiting_recovery = true;
  backend.consecutive_failures = 0;
  backend.counters->ejections.add();
  backend.counters->ejected_until_ms.set(backend.ejected_until_ms);
  char message[160];
  std::snprintf(message, sizeof(message), "%s: %u consecutive failures (last: %s)",
                backend.spec.label.c_str(), outlier.consecutive_failures, reason);
  emit_backend_event(stats::EventType::backend_ejected, backend, message,
                     static_cast<uint32_t>(std::min<uint64_t>(duration, UINT32_MAX)));
}

void WorkerContext::report_connect_failure(balancing::BackendRuntime& backend, int error_number) {
  backend.counters->connect_errors.add();
  const char* what = error_number == ETIMEDOUT ? "connect timeout" : "connect refused";
  report_failure(backend, what);
  uint64_t now = loop.now_ms();
  if (backend.error_reported_ms != 0 && now - backend.error_reported_ms < 1000) {
    backend.errors_unreported++;
    return;
  }
  stats::Event event;
  event.type = stats::EventType::backend_error;
  event.worker = worker_index;
  event.backend_id = backend.spec.id;
  const char* name = strerrorname_np(error_number);
  event.set_code(name ? name : "EIO");
  char message[160];
  if (error_number == ETIMEDOUT) {
    std::snprintf(message, sizeof(message), "connect to %s timed out after %u ms", backend.spec.label.c_str(),
                  config_->timeouts.connect_ms);
  } else {
    std::snprintf(message, sizeof(message), "connect to %s failed: %s", backend.spec.label.c_str(),
                  std::strerror(error_number));
  }
  if (backend.errors_unreported > 0) {
    size_t used = std::strlen(message);
    std::snprintf(message + used, sizeof(message) - used, " (and %u more since the last report)",
                  backend.errors_unreported);
  }
  event.set_message(message);
  emit(event);
  backend.error_reported_ms = now;
  backend.errors_unreported = 0;
}

void WorkerContext::report_success(balancing::BackendRuntime& backend) {
  backend.consecutive_failures = 0;
  if (!backend.awaiting_recovery) return;
  if (backend.ejected(loop.now_ms())) {
    // Tried in panic and it answered: it is back now, not when its ejection would end.
    readmit(backend, "answered while ejected");
    return;
  }
  backend.awaiting_recovery = false;
  emit_backend_event(stats::EventType::backend_recovered, backend, backend.spec.label.c_str());
}

void WorkerContext::clear_ejection(uint32_t backend_id) {
  auto it = backends_.find(backend_id);
  if (it == backends_.end()) return;
  balancing::BackendRuntime& backend = *it->second;
  if (backend.awaiting_recovery || backend.ejected(loop.now_ms())) readmit(backend, "active health check passed");
}

void WorkerContext::readmit(balancing::BackendRuntime& backend, const char* why) {
  uint64_t now = loop.now_ms();
  backend.ejected_until_ms = 0;
  backend.counters->ejected_until_ms.set(0);
  backend.available_since_ms = now;  // slow start, if any, ramps from now
  backend.awaiting_recovery = false;
  backend.consecutive_failures = 0;
  char message[160];
  std::snprintf(message, sizeof(message), "%s: %s", backend.spec.label.c_str(), why);
  emit_backend_event(stats::EventType::backend_recovered, backend, message);
}

void WorkerContext::emit_backend_event(stats::EventType type, const balancing::BackendRuntime& backend,
                                       const char* message, uint32_t duration_ms) {
  stats::Event event;
  event.type = type;
  event.worker = worker_index;
  event.backend_id = backend.spec.id;
  event.duration_ms = duration_ms;
  event.set_message(message);
  emit(event);
}

void WorkerContext::backend_connection_opened(balancing::BackendRuntime& backend) {
  backend.open_connections++;
}

void WorkerContext::backend_connection_closed(balancing::BackendRuntime& backend) {
  backend.open_connections--;
}

void WorkerContext::collect_retired() {
  // Freed between loop iterations, never while a connection's handler may still hold a
  // reference to the runtime it just closed a connection of.
  std::erase_if(retiring_, [](const std::unique_ptr<balancing::BackendRuntime>& runtime) {
    return runtime->open_connections == 0;
  });
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
