// One backend's load for the whole process, shared by every worker: the requests in
// flight on it (the admission count of its maxConnections), and its queue's gauges and
// counters. Unlike the per-worker counters, these have many writers: each change is an
// atomic read-modify-write, made only for backends with a limit (in_flight) or when a
// request waits (the rest).
#pragma once

#include <atomic>
#include <cstdint>

namespace lb::stats {

struct alignas(64) BackendLoad {
  std::atomic<uint32_t> in_flight{0};       // admitted requests now (backends with maxConnections)
  std::atomic<uint32_t> queued{0};          // requests waiting for a slot now, all workers
  std::atomic<uint64_t> dequeued{0};        // requests that waited and got a slot
  std::atomic<uint64_t> wait_us_total{0};   // their total wait
  std::atomic<uint64_t> queue_timeouts{0};  // 503: waited queue.timeoutMs without a slot
  std::atomic<uint64_t> queue_full{0};      // 503: the queue had no room

  // Admits one more request if fewer than `max` are in flight (compare-and-swap: two
  // workers never both take the last slot).
  bool try_acquire(uint32_t max) {
    uint32_t seen = in_flight.load(std::memory_order_relaxed);
    while (seen < max) {
      if (in_flight.compare_exchange_weak(seen, seen + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }
  void release() { in_flight.fetch_sub(1, std::memory_order_acq_rel); }
};

}  // namespace lb::stats
