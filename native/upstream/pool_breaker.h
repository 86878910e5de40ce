// The circuit breaker of the pool (every backend of the balancer), with Envoy's names:
// at most `max_requests` requests in flight across the pool, for the whole process
// (a compare-and-swap, so two workers never both take the last one); beyond that a
// request waits in its backend's queue (backend_queue.h) if fewer than
// `max_pending_requests` wait already, process-wide, else it is answered 503 at once and
// counted as an overflow. Limits of 0 are off.
#pragma once

#include <atomic>
#include <cstdint>

namespace lb::upstream {

struct CircuitBreaker {
  uint32_t max_requests = 0;          // 0: no limit
  uint32_t max_pending_requests = 0;  // with max_requests: how many may wait; 0: none

  bool limits() const { return max_requests > 0; }
};

// The pool's load for the whole process, shared by every worker and kept across reloads.
struct alignas(64) PoolLoad {
  std::atomic<uint32_t> active{0};    // requests holding a pool slot
  std::atomic<uint32_t> pending{0};   // requests waiting for one
  std::atomic<uint64_t> overflow{0};  // 503s: max_requests active and max_pending_requests waiting

  bool try_acquire(uint32_t max) {
    uint32_t seen = active.load(std::memory_order_relaxed);
    while (seen < max) {
      if (active.compare_exchange_weak(seen, seen + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }
  void release() { active.fetch_sub(1, std::memory_order_acq_rel); }
  // One more waiter if fewer than `max` wait; else counted as an overflow.
  bool try_wait(uint32_t max) {
    uint32_t seen = pending.load(std::memory_order_relaxed);
    while (seen < max) {
      if (pending.compare_exchange_weak(seen, seen + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        return true;
      }
    }
    overflow.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  void stop_waiting() { pending.fetch_sub(1, std::memory_order_acq_rel); }
};

}  // namespace lb::upstream
