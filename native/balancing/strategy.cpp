#include "balancing/strategy.h"

#include "balancing/cookie_sticky.h"
#include "balancing/least_connections.h"
#include "balancing/random_choice.h"
#include "balancing/rendezvous_hash.h"
#include "balancing/round_robin.h"

namespace lb::balancing {

namespace {
struct NamedStrategy {
  std::string_view name;
  StrategyKind kind;
  StrategyKey key;
};
constexpr NamedStrategy kStrategies[] = {
    {"round-robin", StrategyKind::round_robin, StrategyKey::none},
    {"weighted-round-robin", StrategyKind::weighted_round_robin, StrategyKey::none},
    {"least-connections", StrategyKind::least_connections, StrategyKey::none},
    {"random", StrategyKind::random, StrategyKey::none},
    {"p2c", StrategyKind::p2c, StrategyKey::none},
    {"peak-ewma", StrategyKind::peak_ewma, StrategyKey::none},
    {"ip-hash", StrategyKind::ip_hash, StrategyKey::client_address},
    {"header-hash", StrategyKind::header_hash, StrategyKey::header},
    {"uri-hash", StrategyKind::uri_hash, StrategyKey::uri},
    {"cookie", StrategyKind::cookie, StrategyKey::cookie},
};
}  // namespace

bool parse_strategy(std::string_view name, StrategyKind& out) {
  for (const NamedStrategy& strategy : kStrategies) {
    if (strategy.name == name) {
      out = strategy.kind;
      return true;
    }
  }
  return false;
}

const char* to_string(StrategyKind kind) {
  for (const NamedStrategy& strategy : kStrategies) {
    if (strategy.kind == kind) return strategy.name.data();
  }
  return "unknown";
}

StrategyKey key_of(StrategyKind kind) {
  for (const NamedStrategy& strategy : kStrategies) {
    if (strategy.kind == kind) return strategy.key;
  }
  return StrategyKey::none;
}

std::unique_ptr<Strategy> make_strategy(StrategyKind kind, const StrategySettings& settings) {
  switch (kind) {
    case StrategyKind::round_robin:
    case StrategyKind::weighted_round_robin: return std::make_unique<RoundRobin>();
    case StrategyKind::least_connections: return std::make_unique<LeastConnections>();
    case StrategyKind::random: return std::make_unique<RandomChoice>(RandomChoice::Compare::none, settings);
    case StrategyKind::p2c: return std::make_unique<RandomChoice>(RandomChoice::Compare::in_flight, settings);
    case StrategyKind::peak_ewma: return std::make_unique<RandomChoice>(RandomChoice::Compare::peak_ewma, settings);
    case StrategyKind::ip_hash:
    case StrategyKind::header_hash:
    case StrategyKind::uri_hash: return std::make_unique<RendezvousHash>(std::make_unique<RoundRobin>());
    case StrategyKind::cookie: return std::make_unique<CookieSticky>(std::make_unique<RoundRobin>());
  }
  return std::make_unique<RoundRobin>();
}

}  // namespace lb::balancing
