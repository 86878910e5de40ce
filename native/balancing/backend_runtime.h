// What one worker knows about one backend when choosing: the spec it was configured with,
// its counters slot, its load, its passive health and each strategy's state. The upstream
// group extends it with what only connections need (its idle pool). Worker-local: no
// other thread reads or writes it (the counters slot is read by the control plane,
// atomically).
#pragma once

#include <cstdint>

#include "balancing/backend.h"
#include "stats/worker_counters.h"

namespace lb::balancing {

struct BackendRuntime {
  BackendSpec spec;
  stats::BackendWorkerCounters* counters = nullptr;
  uint32_t exchanges_in_flight = 0;

  // Passive health (outlier detection), per worker: consecutive failures (connect
  // failures, resets, 5xx) eject the backend until `ejected_until_ms`; each ejection
  // lasts longer than the last. After it, traffic ramps up from `available_since_ms`.
  uint32_t consecutive_failures = 0;
  uint32_t ejections = 0;
  uint64_t ejected_until_ms = 0;
  bool awaiting_recovery = false;  // ejected earlier; no success seen since
  uint64_t available_since_ms = 0;

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

  bool ejected(uint64_t now_ms) const { return now_ms < ejected_until_ms; }
  // Configured to take requests: not removed, draining or in maintenance.
  bool in_service() const { return !removed && spec.state == BackendState::ready; }
  bool takes_new_requests() const { return in_service() && spec.healthy; }
  bool eligible(uint64_t now_ms) const { return takes_new_requests() && !ejected(now_ms); }

  // The weight strategies use, scaled by 100 so that slow start can ramp it smoothly:
  // a backend just back from ejection (or just added) starts at 10% and grows linearly.
  uint64_t weight_now(uint64_t now_ms, uint64_t slow_start_ms) const {
    uint64_t full = static_cast<uint64_t>(spec.weight) * 100;
    if (slow_start_ms == 0 || now_ms >= available_since_ms + slow_start_ms) return full;
    // Still ejected (a panic pick) or not yet ramping: the floor.
    uint64_t elapsed = now_ms > available_since_ms ? now_ms - available_since_ms : 0;
    uint64_t ramped = full * elapsed / slow_start_ms;
    uint64_t floor = full / 10;
    return ramped > floor ? ramped : (floor > 0 ? floor : 1);
  }
};

}  // namespace lb::balancing
