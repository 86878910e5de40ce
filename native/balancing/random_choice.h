// Random strategies. `random`: one weighted random pick. `p2c`: two weighted random
// picks, keep the one with fewer requests in flight (the power of two choices: nearly
// least-connections' balance without scanning for the minimum). `peak-ewma`: the same
// two picks compared on peak-EWMA latency times (requests in flight + 1), the
// latency-aware balancer of Finagle and Linkerd.
#pragma once

#include "balancing/hash.h"
#include "balancing/strategy.h"

namespace lb::balancing {

class RandomChoice final : public Strategy {
 public:
  enum class Compare : uint8_t { none, in_flight, peak_ewma };
  RandomChoice(Compare compare, const StrategySettings& settings)
      : compare_(compare), decay_ms_(settings.ewma_decay_ms), random_(settings.seed) {}

  BackendRuntime* pick(std::span<BackendRuntime* const> backends, const PickRequest& request) override;

 private:
  BackendRuntime* weighted_pick(std::span<BackendRuntime* const> backends, const PickRequest& request,
                                const BackendRuntime* exclude);
  double cost(const BackendRuntime& backend, const PickRequest& request) const;

  Compare compare_;
  double decay_ms_;
  Xorshift random_;
};

}  // namespace lb::balancing
