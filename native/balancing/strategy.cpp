#include "balancing/strategy.h"

#include "balancing/round_robin.h"

namespace lb::balancing {

bool parse_strategy(std::string_view name, StrategyKind& out) {
  if (name == "round-robin") {
    out = StrategyKind::round_robin;
    return true;
  }
  return false;
}

const char* to_string(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::round_robin: return "round-robin";
  }
  return "unknown";
}

std::unique_ptr<Strategy> make_strategy(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::round_robin: return std::make_unique<RoundRobin>();
  }
  return std::make_unique<RoundRobin>();
}

}  // namespace lb::balancing
