#include "balancing/round_robin.h"

namespace lb::balancing {

BackendRuntime* RoundRobin::pick(std::span<BackendRuntime* const> backends, const PickRequest& request) {
  BackendRuntime* best = nullptr;
  int64_t total = 0;
  for (BackendRuntime* backend : backends) {
    if (!request.usable(backend)) continue;
    int64_t weight = static_cast<int64_t>(request.weight(backend));
    backend->wrr_current += weight;
    total += weight;
    if (!best || backend->wrr_current > best->wrr_current) best = backend;
  }
  if (best) best->wrr_current -= total;
  return best;
}

}  // namespace lb::balancing
