// Requests waiting for a slot on a backend that has its maxConnections in flight: one
// FIFO per backend and worker, bounded by queue.maxPending for the worker. A slot freed
// on this worker is offered at once to the head of its queue (new requests of this
// worker queue behind it, so the order holds; a new request on another worker may take
// the slot first); a slot freed on another worker is found by the worker's queue timer,
// which looks every timer tick (8 ms) while something waits. The limit itself is exact
// for the process (BackendLoad's compare-and-swap); what the timer costs is up to one
// tick of extra wait for a slot freed elsewhere. The pool's circuit breaker
// (pool_breaker.h) uses the same queues: a request over its maxRequests waits in the queue
// of the backend it was going to, and a grant takes both slots.
#pragma once

#include <cstdint>
#include <deque>

namespace lb::upstream {

struct UpstreamBackend;

// Who waits: a frontend connection with its request head read.
class QueueWaiter {
 public:
  // A slot on `backend` is now this waiter's (and one of the pool breaker's when
  // `pool_counted`). False: it no longer wants it (the slots are then given back).
  virtual bool on_slot_granted(UpstreamBackend& backend, bool pool_counted) = 0;
  // Waited `waited_ms` (queue.timeoutMs) without a slot, or the backend went away.
  virtual void on_queue_timeout(uint64_t waited_ms) = 0;

 protected:
  ~QueueWaiter() = default;
};

struct QueueEntry {
  QueueWaiter* waiter;
  uint64_t since_ms;
  bool pool_pending = false;  // counted in the pool breaker's pending requests
};

using BackendQueue = std::deque<QueueEntry>;

}  // namespace lb::upstream
