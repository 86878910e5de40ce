// What one worker knows about one backend while it runs: the spec it was configured
// with, its idle pool, its counters slot and its passive health. Worker-local: no other
// thread reads or writes it (the counters slot is read by the control plane, atomically).
#pragma once

#include <cstdint>

#include "balancing/backend.h"
#include "balancing/connection_pool.h"
#include "stats/worker_counters.h"

namespace lb::balancing {

struct BackendRuntime {
  BackendSpec spec;
  stats::BackendWorkerCounters* counters = nullptr;
  ConnectionPool pool;
  uint32_t exchanges_in_flight = 0;
  uint32_t open_connections = 0;  // connecting, attached or idle

  // Passive health, per worker: consecutive connect failures mark the backend down for
  // a while; after `retry_at_ms` one request may try it again (half-open).
  uint32_t consecutive_failures = 0;
  bool down = false;
  uint64_t retry_at_ms = 0;

  // Removed from the configuration: no new requests; dropped once nothing uses it.
  bool removed = false;

  // Strategy state, per worker. Smooth weighted round robin's running score:
  int64_t wrr_current = 0;
  // Peak-EWMA latency (microseconds) and when it was last updated.
  double ewma_latency_us = 0;
  uint64_t ewma_updated_ms = 0;
  // Stable identity of the backend for hashing and sticky cookies: a hash of its address,
  // the same on every balancer that has this backend.
  uint64_t identity = 0;

  // Records one response time for latency-aware strategies: a new peak is taken at once,
  // lower samples decay in with a time constant of `decay_ms`.
  void record_latency(uint64_t latency_us, uint64_t now_ms, double decay_ms);

  bool eligible(uint64_t now_ms) const {
    if (removed || spec.state != BackendState::ready) return false;
    return !down || now_ms >= retry_at_ms;
  }
};

}  // namespace lb::balancing
