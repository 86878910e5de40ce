// UpstreamGroup: membership (adopting settings, retiring removed backends), picking,
// exchanges and drain reports. Passive health is in outlier.cpp.
#include "upstream/upstream_group.h"

#include <cstdio>
#include <cstring>

#include "balancing/hash.h"
#include "reactor/clock.h"

namespace lb::upstream {

namespace {
bool same_address(const net::SocketAddress& a, const net::SocketAddress& b) {
  return a.length == b.length && std::memcmp(&a.storage, &b.storage, a.length) == 0;
}
}  // namespace

UpstreamGroup::UpstreamGroup(uint16_t worker_index, reactor::EventLoop& loop, stats::WorkerChannels& channels)
    : worker_index_(worker_index), loop_(loop), channels_(channels) {}

UpstreamGroup::~UpstreamGroup() = default;

void UpstreamGroup::adopt(std::shared_ptr<const UpstreamSettings> settings) {
  if (!strategy_ || strategy_kind_ != settings->strategy) {
    balancing::StrategySettings strategy_settings;
    strategy_settings.ewma_decay_ms = settings->ewma_decay_ms;
    strategy_settings.seed = balancing::mix(reactor::monotonic_us(), worker_index_ + 1);
    strategy_ = balancing::make_strategy(settings->strategy, strategy_settings);
    strategy_kind_ = settings->strategy;
  }
  std::unordered_map<uint32_t, std::unique_ptr<UpstreamBackend>> previous;
  previous.swap(backends_);
  ordered_.clear();
  for (size_t index = 0; index < settings->backends.size(); ++index) {
    const balancing::BackendSpec& spec = settings->backends[index];
    const BackendTls no_tls;
    const BackendTls& tls = index < settings->backend_tls.size() ? settings->backend_tls[index] : no_tls;
    std::unique_ptr<UpstreamBackend> backend;
    auto it = previous.find(spec.id);
    if (it != previous.end() && same_address(it->second->spec.address, spec.address)) {
      backend = std::move(it->second);
      previous.erase(it);
      bool health_came_back = !backend->spec.healthy && spec.healthy;
      backend->spec = spec;
      // Active checks reached `rise`: whatever passive ejection is still running ends.
      if (health_came_back && (backend->awaiting_recovery || backend->ejected(loop_.now_ms()))) {
        readmit(*backend, "active health checks passed");
      }
    } else {
      // New, or the same id at a new address (then the old one retires below).
      backend = std::make_unique<UpstreamBackend>();
      backend->spec = spec;
      backend->counters = &spec.counters->slot(worker_index_);
      backend->identity = balancing::hash_bytes(spec.label);
      backend->available_since_ms = loop_.now_ms();  // slow start applies to new backends too
    }
    if (!(backend->tls == tls)) {
      // Another way of speaking to it (TLS on or off, another CA or name): pooled
      // connections and the saved session belong to the old one.
      backend->pool.close_all();
      backend->tls = tls;
      backend->tls_session.reset();
    }
    if (!backend->takes_new_requests()) backend->pool.close_all();
    ordered_.push_back(backend.get());
    backends_.emplace(spec.id, std::move(backend));
  }
  settings_ = std::move(settings);
  // Backends no longer configured take no new request; idle connections close now, and
  // the backend is freed once its last connection has closed.
  for (auto& [id, backend] : previous) {
    backend->removed = true;
    backend->pool.close_all();
    fail_queue(*backend);
    check_drained(*backend);
    retiring_.push_back(std::move(backend));  // freed by collect_retired()
  }
  for (balancing::BackendRuntime* backend : ordered_) check_drained(static_cast<UpstreamBackend&>(*backend));
}

UpstreamBackend* UpstreamGroup::pick(balancing::PickRequest request) {
  request.now_ms = loop_.now_ms();
  request.slow_start_ms = settings_->outlier.slow_start_ms;
  balancing::BackendRuntime* backend = strategy_->pick(ordered_, request);
  if (backend) return static_cast<UpstreamBackend*>(backend);
  for (balancing::Reach reach :
       {balancing::Reach::ejected, balancing::Reach::unhealthy, balancing::Reach::in_service}) {
    request.reach = reach;
    backend = strategy_->pick(ordered_, request);
    if (backend) break;
  }
  if (!backend) return nullptr;
  channels_.counters.panic_routed.add();
  uint64_t now = request.now_ms;
  if (panic_reported_ms_ == 0 || now - panic_reported_ms_ >= 1000) {
    panic_reported_ms_ = now;
    bool ejected = backend->ejected(now);
    char message[160];
    std::snprintf(message, sizeof(message), "no backend is eligible (ejected or down); trying %s (%s%s)",
                  backend->spec.label.c_str(), ejected ? "ejected" : "",
                  backend->spec.healthy ? "" : (ejected ? ", down by health checks" : "down by health checks"));
    emit_backend_event(stats::EventType::panic_routing, static_cast<UpstreamBackend&>(*backend), message);
  }
  return static_cast<UpstreamBackend*>(backend);
}

void UpstreamGroup::begin_exchange(UpstreamBackend& backend) { backend.exchanges_in_flight++; }

void UpstreamGroup::end_exchange(UpstreamBackend& backend) {
  backend.exchanges_in_flight--;
  check_drained(backend);
}

void UpstreamGroup::check_drained(UpstreamBackend& backend) {
  if (backend.takes_new_requests()) {
    backend.drained_reported = false;
    return;
  }
  if (backend.exchanges_in_flight == 0 && !backend.drained_reported) {
    backend.drained_reported = true;
    emit_backend_event(stats::EventType::backend_drained, backend, backend.spec.label.c_str());
  }
}

void UpstreamGroup::collect_retired() {
  std::erase_if(retiring_,
                [](const std::unique_ptr<UpstreamBackend>& backend) { return backend->open_connections == 0; });
}

void UpstreamGroup::close_idle_pools() {
  for (auto& [id, backend] : backends_) backend->pool.close_all();
}

void UpstreamGroup::emit_backend_event(stats::EventType type, const UpstreamBackend& backend, const char* message,
                                       uint32_t duration_ms) {
  stats::Event event;
  event.type = type;
  event.worker = worker_index_;
  event.backend_id = backend.spec.id;
  event.duration_ms = duration_ms;
  event.set_message(message);
  emit(event);
}

void UpstreamGroup::emit(const stats::Event& event) {
  if (!channels_.events.push(event)) channels_.counters.events_dropped.add();
}

}  // namespace lb::upstream
