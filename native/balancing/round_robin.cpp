#include "balancing/round_robin.h"

namespace lb::balancing {

BackendRuntime* RoundRobin::pick(std::span<BackendRuntime* const> backends,
                                 const PickRequest& request) {
  size_t count = backends.size();
  for (size_t step = 0; step < count; ++step) {
    BackendRuntime* candidate = backends[(cursor_ + step) % count];
    if (candidate->eligible(request.now_ms) && !request.was_tried(candidate)) {
      cursor_ = (cursor_ + step + 1) % count;
      return candidate;
    }
  }
  return nullptr;
}

}  // namespace lb::balancing
