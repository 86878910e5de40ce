// How a backend is chosen for a request. One instance per worker, so a strategy's state
// (a cursor, a random generator) needs no synchronisation. Every strategy sees the
// worker's backends in configuration order, skips the ineligible ones (down, draining,
// in maintenance, removed) and those this request already tried, and returns nullptr
// only when none is left.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "balancing/backend_runtime.h"

namespace lb::balancing {

enum class StrategyKind : uint8_t {
  round_robin,           // smooth weighted round robin (weights honoured, like HAProxy's)
  weighted_round_robin,  // the same algorithm, by its explicit name
  least_connections,     // fewest requests in flight, relative to weight
  random,                // weighted random
  p2c,                   // power of two random choices on requests in flight
  peak_ewma,             // p2c on peak-EWMA latency x (requests in flight + 1)
  ip_hash,               // consistent hashing of the client address
  header_hash,           // consistent hashing of a request header's value
  uri_hash,              // consistent hashing of the request target
  cookie,                // sticky sessions: a cookie names the backend
};

bool parse_strategy(std::string_view name, StrategyKind& out);
const char* to_string(StrategyKind kind);

// What a request must supply for the strategy to pick.
enum class StrategyKey : uint8_t { none, client_address, header, uri, cookie };
StrategyKey key_of(StrategyKind kind);

// How far a pick may reach (Envoy's panic routing: a backend that may have recovered
// beats a certain 502/503). Normally only eligible backends. When none is left: ejected
// ones whose health checks pass; then those down by health checks but not ejected (a
// check can time out on a busy backend that still serves); then any in service. Passive
// ejection is the fresher evidence, from real requests, so it is trusted longest. Never
// draining, maintenance or removed backends.
enum class Reach : uint8_t { eligible, ejected, unhealthy, in_service };

struct PickRequest {
  uint64_t now_ms = 0;
  // Backends this request already tried (connect failures), never picked again.
  std::span<BackendRuntime* const> tried;
  // Hashing strategies: the key's hash (valid when has_key).
  uint64_t key = 0;
  bool has_key = false;
  // Cookie strategy: the identity the client's cookie names (valid when has_sticky).
  uint64_t sticky_identity = 0;
  bool has_sticky = false;

  bool was_tried(const BackendRuntime* backend) const {
    for (const BackendRuntime* t : tried) {
      if (t == backend) return true;
    }
    return false;
  }
  Reach reach = Reach::eligible;

  bool usable(const BackendRuntime* backend) const {
    if (was_tried(backend) || backend->spec.weight == 0) return false;
    switch (reach) {
      case Reach::eligible: return backend->eligible(now_ms);
      case Reach::ejected: return backend->takes_new_requests();
      case Reach::unhealthy: return backend->in_service() && !backend->ejected(now_ms);
      case Reach::in_service: return backend->in_service();
    }
    return false;
  }
  // Slow start length, for weight_now(); 0 when disabled.
  uint64_t slow_start_ms = 0;
  uint64_t weight(const BackendRuntime* backend) const { return backend->weight_now(now_ms, slow_start_ms); }
};

struct StrategySettings {
  double ewma_decay_ms = 10000;  // peak-EWMA time constant
  uint64_t seed = 0;             // random generator seed (per worker)
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual BackendRuntime* pick(std::span<BackendRuntime* const> backends, const PickRequest& request) = 0;
};

std::unique_ptr<Strategy> make_strategy(StrategyKind kind, const StrategySettings& settings);

}  // namespace lb::balancing
