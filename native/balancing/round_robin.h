// Each eligible backend in turn.
#pragma once

#include "balancing/strategy.h"

namespace lb::balancing {

class RoundRobin final : public Strategy {
 public:
  BackendRuntime* pick(std::span<BackendRuntime* const> backends,
                       const PickRequest& request) override;

 private:
  size_t cursor_ = 0;
};

}  // namespace lb::balancing
