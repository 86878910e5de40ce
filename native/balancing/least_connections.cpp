#include "balancing/least_connections.h"

namespace lb::balancing {

BackendRuntime* LeastConnections::pick(std::span<BackendRuntime* const> backends, const PickRequest& request) {
  BackendRuntime* best = nullptr;
  size_t count = backends.size();
  for (size_t step = 0; step < count; ++step) {
    BackendRuntime* backend = backends[(rotation_ + step) % count];
    if (!request.usable(backend)) continue;
    // Compare (load_a + 1) / weight_a < (load_b + 1) / weight_b without division.
    if (!best || static_cast<uint64_t>(backend->exchanges_in_flight + 1) * request.weight(best) <
                     static_cast<uint64_t>(best->exchanges_in_flight + 1) * request.weight(backend)) {
      best = backend;
    }
  }
  if (count > 0) rotation_ = (rotation_ + 1) % count;
  return best;
}

}  // namespace lb::balancing
