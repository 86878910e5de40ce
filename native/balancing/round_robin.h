// Smooth weighted round robin: each pick adds every usable backend's weight to its score,
// takes the highest score, and subtracts the total from the winner. Weights 5,1,1 give
// a,a,b,a,c,a,a: interleaved, never five in a row; equal weights give plain rotation.
#pragma once

#include "balancing/strategy.h"

namespace lb::balancing {

class RoundRobin final : public Strategy {
 public:
  BackendRuntime* pick(std::span<BackendRuntime* const> backends, const PickRequest& request) override;
};

}  // namespace lb::balancing
