// UpstreamGroup: maxConnections slots and the queues of requests waiting for one (see
// backend_queue.h for how exact the limit is and how slots freed elsewhere are found).
#include <algorithm>

#include "upstream/upstream_group.h"

namespace lb::upstream {

UpstreamGroup::Slot UpstreamGroup::take_slot(UpstreamBackend& backend) {
  const uint32_t max = backend.spec.max_connections;
  if (max == 0) return Slot::admitted;
  // Those already waiting here go first: a new request never overtakes them.
  if (!backend.waiting.empty()) return Slot::full;
  return backend.spec.counters->load().try_acquire(max) ? Slot::counted : Slot::full;
}

bool UpstreamGroup::wait_for_slot(UpstreamBackend& backend, QueueWaiter& waiter) {
  stats::BackendLoad& load = backend.spec.counters->load();
  if (waiting_ >= settings_->queue.max_pending) {
    load.queue_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  backend.waiting.push_back({&waiter, loop_.now_ms()});
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
    bool granted = false;
    if (!expired && backend.takes_new_requests()) {
      granted = max == 0 || load.try_acquire(max);
      if (!granted) return;  // still full: the head waits on
    }
    backend.waiting.pop_front();
    --waiting_;
    load.queued.fetch_sub(1, std::memory_order_relaxed);
    if (!granted) {
      load.queue_timeouts.fetch_add(1, std::memory_order_relaxed);
      entry.waiter->on_queue_timeout(now_ms - entry.since_ms);
      continue;
    }
    load.dequeued.fetch_add(1, std::memory_order_relaxed);
    load.wait_us_total.fetch_add((now_ms - entry.since_ms) * 1000, std::memory_order_relaxed);
    // A limit lifted (max 0) admits uncounted; a waiter that no longer wants it gives the
    // counted slot back.
    if (!entry.waiter->on_slot_granted(backend) && max != 0) load.release();
  }
}

void UpstreamGroup::fail_queue(UpstreamBackend& backend) {
  stats::BackendLoad& load = backend.spec.counters->load();
  while (!backend.waiting.empty()) {
    QueueEntry entry = backend.waiting.front();
    backend.waiting.pop_front();
    --waiting_;
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
