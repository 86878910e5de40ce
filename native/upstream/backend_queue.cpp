// UpstreamGroup: maxConnections slots and the queues of requests waiting for one (see
// backend_queue.h for how exact the limit is and how slots freed elsewhere are found).
#include <algorithm>

#include "upstream/upstream_group.h"

namespace lb::upstream {

PoolLoad* UpstreamGroup::pool_limits() const {
  return settings_->breaker.limits() ? settings_->pool_load.get() : nullptr;
}

void UpstreamGroup::stop_pending(const QueueEntry& entry) {
  if (entry.pool_pending && settings_->pool_load) settings_->pool_load->stop_waiting();
}

UpstreamGroup::Slot UpstreamGroup::take_slot(UpstreamBackend& backend, bool& pool_counted) {
  pool_counted = false;
  const uint32_t max = backend.spec.max_connections;
  PoolLoad* pool = pool_limits();
  if (max == 0 && !pool) return Slot::admitted;
  // Those already waiting here go first: a new request never overtakes them.
  if (!backend.waiting.empty()) return Slot::full;
  if (pool && !pool->try_acquire(settings_->breaker.max_requests)) return Slot::full;
  if (max != 0 && !backend.spec.counters->load().try_acquire(max)) {
    if (pool) pool->release();
    return Slot::full;
  }
  pool_counted = pool != nullptr;
  return max == 0 ? Slot::admitted : Slot::counted;
}

bool UpstreamGroup::wait_for_slot(UpstreamBackend& backend, QueueWaiter& waiter) {
  stats::BackendLoad& load = backend.spec.counters->load();
  if (waiting_ >= settings_->queue.max_pending) {
    load.queue_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  PoolLoad* pool = pool_limits();
  if (pool && !pool->try_wait(settings_->breaker.max_pending_requests)) return false;  // an overflow
  backend.waiting.push_back({&waiter, loop_.now_ms(), pool != nullptr});
  ++waiting_;
  load.queued.fetch_add(1, std::memory_order_relaxed);
  arm_queue_timer();
  return true;
}

void UpstreamGroup::cancel_wait(QueueWaiter& waiter) {
  auto drop = [&](UpstreamBackend& backend) {
    auto it = std::find_if(backend.waiting.begin(), backend.waiting.end(),
                           [&](const QueueEntry& entry) { return entry.waiter == &waiter; });
    if (it == backend.waiting.end()) return false;
    stop_pending(*it);
    backend.waiting.erase(it);
    --waiting_;
    backend.spec.counters->load().queued.fetch_sub(1, std::memory_order_relaxed);
    return true;
  };
  for (balancing::BackendRuntime* backend : ordered_) {
    if (drop(static_cast<UpstreamBackend&>(*backend))) return;
  }
}

void UpstreamGroup::give_slot(uint32_t backend_id, stats::BackendLoad& load) {
  // Freed first, then offered at once to this worker's queue through the same check as
  // any admission: a limit lowered meanwhile (or lifted) is respected, and the count
  // never holds a slot nobody owns.
  load.release();
  if (serving_queue_) {
    // Given back from inside a grant (its connect failed at once): the granting loop
    // offers the slot to the next waiter, or the queue timer does within a tick, so the
    // stack does not grow with the queue.
    arm_queue_timer();
    return;
  }
  auto it = backends_.find(backend_id);
  if (it == backends_.end() || &it->second->spec.counters->load() != &load) return;
  if (!it->second->waiting.empty()) serve_queue(*it->second, loop_.now_ms());
}

void UpstreamGroup::give_pool_slot() {
  if (!settings_->pool_load) return;
  settings_->pool_load->release();
  if (serving_queue_) {
    // Given back from inside a grant, as in give_slot: the granting loop or the queue
    // timer offers it, so the stack does not grow with the queue.
    arm_queue_timer();
    return;
  }
  // Offered to this worker's waiters at once (other workers' timers find it within a tick).
  const uint64_t now = loop_.now_ms();
  for (balancing::BackendRuntime* backend : ordered_) {
    UpstreamBackend& upstream = static_cast<UpstreamBackend&>(*backend);
    if (!upstream.waiting.empty()) serve_queue(upstream, now);
  }
}

void UpstreamGroup::serve_queue(UpstreamBackend& backend, uint64_t now_ms) {
  struct Serving {
    bool& flag;
    const bool before = flag;
    explicit Serving(bool& f) : flag(f) { flag = true; }
    ~Serving() { flag = before; }
  } serving(serving_queue_);
  stats::BackendLoad& load = backend.spec.counters->load();
  const uint64_t timeout = settings_->queue.timeout_ms;
  while (!backend.waiting.empty()) {
    QueueEntry entry = backend.waiting.front();
    const bool expired = now_ms - entry.since_ms >= timeout;
    const uint32_t max = backend.spec.max_connections;
    PoolLoad* pool = pool_limits();
    bool granted = false;
    if (!expired && backend.takes_new_requests()) {
      if (pool && !pool->try_acquire(settings_->breaker.max_requests)) return;  // the pool is full
      granted = max == 0 || load.try_acquire(max);
      if (!granted) {
        if (pool) pool->release();
        return;  // still full: the head waits on
      }
    }
    const bool pool_counted = granted && pool != nullptr;
    backend.waiting.pop_front();
    --waiting_;
    stop_pending(entry);
    load.queued.fetch_sub(1, std::memory_order_relaxed);
    if (!granted) {
      load.queue_timeouts.fetch_add(1, std::memory_order_relaxed);
      entry.waiter->on_queue_timeout(now_ms - entry.since_ms);
      continue;
    }
    load.dequeued.fetch_add(1, std::memory_order_relaxed);
    load.wait_us_total.fetch_add((now_ms - entry.since_ms) * 1000, std::memory_order_relaxed);
    // A limit lifted (max 0) admits uncounted; a waiter that no longer wants it gives the
    // counted slots back.
    if (!entry.waiter->on_slot_granted(backend, pool_counted)) {
      if (max != 0) load.release();
      if (pool_counted) pool->release();
    }
  }
}

void UpstreamGroup::fail_queue(UpstreamBackend& backend) {
  stats::BackendLoad& load = backend.spec.counters->load();
  while (!backend.waiting.empty()) {
    QueueEntry entry = backend.waiting.front();
    backend.waiting.pop_front();
    --waiting_;
    stop_pending(entry);
    load.queued.fetch_sub(1, std::memory_order_relaxed);
    entry.waiter->on_queue_timeout(loop_.now_ms() - entry.since_ms);
  }
}

void UpstreamGroup::on_timer(reactor::Timer&) {
  const uint64_t now = loop_.now_ms();
  for (balancing::BackendRuntime* backend : ordered_) {
    UpstreamBackend& upstream = static_cast<UpstreamBackend&>(*backend);
    if (!upstream.waiting.empty()) serve_queue(upstream, now);
  }
  arm_queue_timer();
}

void UpstreamGroup::arm_queue_timer() {
  // One tick: how late a slot freed on another worker can be seen here.
  if (waiting_ > 0 && !queue_timer_.armed()) loop_.timers().arm(queue_timer_, reactor::TimerWheel::kTickMs);
}

}  // namespace lb::upstream
