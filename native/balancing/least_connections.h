// The backend with the fewest requests in flight on this worker, relative to its weight
// ((in flight + 1) / weight), ties broken in rotation so equal backends share the load.
#pragma once

#include "balancing/strategy.h"

namespace lb::balancing {

class LeastConnections final : public Strategy {
 public:
  BackendRuntime* pick(std::span<BackendRuntime* const> backends, const PickRequest& request) override;

 private:
  size_t rotation_ = 0;
};

}  // namespace lb::balancing
