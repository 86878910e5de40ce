// One worker's upstream group (Pingora keeps its LoadBalancer apart from the proxy the
// same way): the backends of the current configuration with their idle pools, the
// strategy that chooses among them, passive health (outlier detection: ejection and
// readmission, in outlier.cpp), the retry budget, and drain and error reports. Every
// kind of front end (HTTP/1, TCP, and those to come) asks the same group. Owned by the
// worker thread; nothing here is touched by another thread except through atomics
// (counters, the event ring).
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "balancing/strategy.h"
#include "reactor/event_loop.h"
#include "reactor/timer_wheel.h"
#include "stats/worker_channels.h"
#include "upstream/retry_budget.h"
#include "upstream/upstream_backend.h"
#include "upstream/upstream_settings.h"

namespace lb::upstream {

class UpstreamGroup final : public reactor::TimerHandler {
 public:
  // The longest ejection, in base ejection times.
  static constexpr uint32_t kMaxEjectionMultiplier = 10;

  UpstreamGroup(uint16_t worker_index, reactor::EventLoop& loop, stats::WorkerChannels& channels);
  ~UpstreamGroup();
  UpstreamGroup(const UpstreamGroup&) = delete;
  UpstreamGroup& operator=(const UpstreamGroup&) = delete;

  // Switches to new settings: new backends appear, removed ones stop taking requests and
  // close their idle connections, changed weights and states apply to the next pick.
  // Exchanges in flight keep their backend.
  void adopt(std::shared_ptr<const UpstreamSettings> settings);
  const UpstreamSettings& settings() const { return *settings_; }

  // Chooses a backend for a request, skipping those it already tried; nullptr if none.
  // `request` carries the key or sticky identity when the strategy needs one. When no
  // backend is eligible, an ejected one, or else one down by health checks, is picked
  // (panic routing, counted and reported) rather than none: a backend that may have
  // recovered is better than a certain 502/503.
  UpstreamBackend* pick(balancing::PickRequest request);
  balancing::StrategyKey strategy_key() const { return balancing::key_of(strategy_kind_); }

  // A new request (not a retry) pays into the retry budget; a retry takes from it.
  void on_request() { retry_budget_.on_request(settings_->retries); }
  bool take_retry() { return retry_budget_.try_take(settings_->retries, loop_.now_ms()); }

  // An exchange starts or ends on a backend (requests in flight, drain detection).
  void begin_exchange(UpstreamBackend& backend);
  void end_exchange(UpstreamBackend& backend);

  // Passive health (outlier.cpp). Every failure (connect refused or timed out, reset
  // before a full response, 5xx) and every success (a non-5xx response; a connect in TCP
  // mode). A success on a backend that is still ejected (it was tried in panic) readmits
  // it at once.
  void report_failure(UpstreamBackend& backend, const char* reason);
  void report_success(UpstreamBackend& backend);
  // A connect to the backend failed with `error_number` (ETIMEDOUT: the connect timeout
  // passed): counted, reported to passive health, and told to the control plane as a
  // backend-error event (at most one a second per backend and worker; the others are
  // counted in the next one).
  void report_connect_failure(UpstreamBackend& backend, int error_number);
  // Active health checks passed for a backend (the control plane says so): a passive
  // ejection ends now, as Envoy's successful active check un-ejects a host.
  void clear_ejection(uint32_t backend_id);

  // A backend connection opened or closed; removed backends are freed when their last
  // connection has closed.
  void connection_opened(UpstreamBackend& backend) { backend.open_connections++; }
  void connection_closed(UpstreamBackend& backend) { backend.open_connections--; }
  // Frees removed backends whose last connection has closed; the worker calls it between
  // loop iterations, never while a handler may still hold one.
  void collect_retired();
  // Closes every idle pooled connection (stop, drain).
  void close_idle_pools();

  // maxConnections (backend_queue.cpp). A request may go to `backend` now (`admitted`;
  // counted in its load when it has a limit: `counted`), or must wait for a slot.
  // With the pool's circuit breaker on, `pool_counted` says the request holds one of its slots.
  enum class Slot : uint8_t { admitted, counted, full };
  Slot take_slot(UpstreamBackend& backend, bool& pool_counted);
  // Queues `waiter` for `backend`; false if this worker's queue is full, or the pool
  // breaker's pending requests are (both counted).
  bool wait_for_slot(UpstreamBackend& backend, QueueWaiter& waiter);
  // Takes `waiter` out of whatever queue it is in (it closed, or answered otherwise).
  void cancel_wait(QueueWaiter& waiter);
  // A counted request of backend `backend_id` ended: its slot goes to the next waiter of
  // this worker, or back to the process.
  void give_slot(uint32_t backend_id, stats::BackendLoad& load);
  // A request holding a pool breaker slot ended: the slot goes to this worker's waiters.
  void give_pool_slot();
  void on_timer(reactor::Timer& timer) override;

 private:
  void check_drained(UpstreamBackend& backend);
  // Grants slots to the heads of `backend`'s queue while the process has free ones, and
  // times out heads that waited too long.
  void serve_queue(UpstreamBackend& backend, uint64_t now_ms);
  // Every waiter of a backend that left the configuration: 503 now.
  void fail_queue(UpstreamBackend& backend);
  void arm_queue_timer();
  // The pool's load when its circuit breaker limits requests (null: off).
  PoolLoad* pool_limits() const;
  void stop_pending(const QueueEntry& entry);
  // Ends an ejection (or the wait for a first success after one): traffic ramps up from
  // now and backend-recovered is reported with `why`.
  void readmit(UpstreamBackend& backend, const char* why);
  size_t ejected_count() const;
  void emit_backend_event(stats::EventType type, const UpstreamBackend& backend, const char* message,
                          uint32_t duration_ms = 0);
  void emit(const stats::Event& event);

  const uint16_t worker_index_;
  reactor::EventLoop& loop_;
  stats::WorkerChannels& channels_;
  std::shared_ptr<const UpstreamSettings> settings_;
  std::unique_ptr<balancing::Strategy> strategy_;
  balancing::StrategyKind strategy_kind_ = balancing::StrategyKind::round_robin;
  std::unordered_map<uint32_t, std::unique_ptr<UpstreamBackend>> backends_;
  // Configuration order, as strategies see them (every entry is an UpstreamBackend).
  std::vector<balancing::BackendRuntime*> ordered_;
  // Removed from the configuration but still with open connections.
  std::vector<std::unique_ptr<UpstreamBackend>> retiring_;
  RetryBudget retry_budget_;
  uint64_t panic_reported_ms_ = 0;  // panic-routing events: at most one a second
  // Requests of this worker waiting in backend queues, and the timer that looks at them.
  uint32_t waiting_ = 0;
  // Set while serve_queue grants: a slot given back meanwhile (a grant whose connect
  // failed at once) is left to that loop or the queue timer instead of recursing.
  bool serving_queue_ = false;
  reactor::Timer queue_timer_{this};
};

}  // namespace lb::upstream
