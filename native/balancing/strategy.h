// How a backend is chosen for a request. One instance per worker, so a strategy's state
// (a round-robin cursor, latency averages) needs no synchronisation. Strategies see only
// the backends the worker considers eligible and skip the ones a request already tried.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "balancing/backend_runtime.h"

namespace lb::balancing {

enum class StrategyKind : uint8_t { round_robin };

bool parse_strategy(std::string_view name, StrategyKind& out);
const char* to_string(StrategyKind kind);

struct PickRequest {
  uint64_t now_ms = 0;
  // Backends this request already tried (connect failures), never picked again.
  std::span<BackendRuntime* const> tried;

  bool was_tried(const BackendRuntime* backend) const {
    for (const BackendRuntime* t : tried) {
      if (t == backend) return true;
    }
    return false;
  }
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // Returns an eligible backend from `backends`, or nullptr when none is.
  virtual BackendRuntime* pick(std::span<BackendRuntime* const> backends,
                               const PickRequest& request) = 0;
};

std::unique_ptr<Strategy> make_strategy(StrategyKind kind);

}  // namespace lb::balancing
