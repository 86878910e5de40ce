// Requests waiting for a slot on a backend that has its maxConnections in flight: one
// FIFO per backend and worker, bounded by queue.maxPending for the worker. A slot freed
// on this worker is offered at once to the head of its queue (new requests of this
// worker queue behind it, so the order holds; a new request on another worker may take
// the slot first); a slot freed on another worker is found by the worker's queue timer,
// which looks every timer tick (8 ms) while something waits. The limit itself is exact
// for the process (BackendLoad's compare-and-swap); what the timer costs is up to one
// tick of extra wait for a slot freed elsewhere.
#pragma once

#include <cstdint>
#include <deque>

namespace lb::upstream {

struct UpstreamBackend;

// Who waits: a frontend connection with its request head read.
class QueueWaiter {
 public:
  // A slot on `backend` is now this waiter's. False: it no longer wants it (the slot is
  // then given to the next waiter or freed).
  virtual bool on_slot_granted(UpstreamBackend& backend) = 0;
  // Waited `waited_ms` (queue.timeoutMs) without a slot, or the backend went away.
  virtual void on_queue_timeout(uint64_t waited_ms) = 0;

 protected:
  ~QueueWaiter() = default;
};

struct QueueEntry {
  QueueWaiter* waiter;
  uint64_t since_ms;
};

using BackendQueue = std::deque<QueueEntry>;

}  // namespace lb::upstream
