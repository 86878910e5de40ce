// The part of a configuration snapshot an upstream group runs on: its backends, how it
// chooses among them, passive health and the retry policy. Immutable once published.
// Defaults and ranges are checked against src/config/defaults.ts (see config_table.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "balancing/backend.h"
#include "balancing/strategy.h"
#include "upstream/backend_tls.h"
#include "upstream/pool_breaker.h"

namespace lb::upstream {

// Passive health per worker, with Envoy's semantics.
struct OutlierDetection {
  uint32_t consecutive_failures = 5;  // 0: never eject
  uint32_t base_ejection_ms = 30000;  // the n-th ejection lasts n times this (10 at most)
  uint32_t max_ejection_percent = 50;
  uint32_t slow_start_ms = 0;
};

// Retries of attempts that failed before any response byte: connect failures always,
// sent requests only when idempotent and without a body. A budget (per worker) keeps
// retries from multiplying the load on a struggling fleet.
struct RetryPolicy {
  uint32_t max_tries = 3;  // attempts per request, the first included
  uint32_t budget_percent = 20;
  uint32_t min_per_second = 10;
};

// Requests waiting for a backend at its maxConnections: at most `max_pending` per worker,
// each for at most `timeout_ms` (then 503 with Retry-After).
struct QueueSettings {
  uint32_t max_pending = 1024;
  uint32_t timeout_ms = 5000;
};

struct UpstreamSettings {
  balancing::StrategyKind strategy = balancing::StrategyKind::round_robin;
  std::vector<balancing::BackendSpec> backends;
  // TLS towards backends, by position in `backends` (shorter, or empty: plain HTTP for
  // the rest).
  std::vector<BackendTls> backend_tls;
  double ewma_decay_ms = 10000;  // peak-EWMA time constant
  OutlierDetection outlier;
  RetryPolicy retries;
  QueueSettings queue;
  // The pool's circuit breaker (pool_breaker.h) and its process-wide load (null: off).
  CircuitBreaker breaker;
  std::shared_ptr<PoolLoad> pool_load;
};

}  // namespace lb::upstream
