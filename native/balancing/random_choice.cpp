#include "balancing/random_choice.h"

#include <cmath>

namespace lb::balancing {

BackendRuntime* RandomChoice::weighted_pick(std::span<BackendRuntime* const> backends,
                                            const PickRequest& request,
                                            const BackendRuntime* exclude) {
  uint64_t total = 0;
  for (BackendRuntime* backend : backends) {
    if (backend != exclude && request.usable(backend)) total += backend->spec.weight;
  }
  if (total == 0) return nullptr;
  uint64_t point = random_.below(total);
  for (BackendRuntime* backend : backends) {
    if (backend == exclude || !request.usable(backend)) continue;
    if (point < backend->spec.weight) return backend;
    point -= backend->spec.weight;
  }
  return nullptr;
}

double RandomChoice::cost(const BackendRuntime& backend, uint64_t now_ms) const {
  double load = static_cast<double>(backend.exchanges_in_flight) + 1.0;
  if (compare_ == Compare::in_flight) return load / backend.spec.weight;
  // The average decays towards zero while no sample arrives, so a backend that was slow
  // once is tried again after a while instead of being starved for ever.
  double elapsed = backend.ewma_updated_ms ? static_cast<double>(now_ms - backend.ewma_updated_ms) : 0;
  double latency = backend.ewma_latency_us * std::exp(-elapsed / decay_ms_);
  return (latency + 1.0) * load / backend.spec.weight;
}

BackendRuntime* RandomChoice::pick(std::span<BackendRuntime* const> backends,
                                   const PickRequest& request) {
  BackendRuntime* first = weighted_pick(backends, request, nullptr);
  if (!first || compare_ == Compare::none) return first;
  BackendRuntime* second = weighted_pick(backends, request, first);
  if (!second) return first;
  return cost(*second, request.now_ms) < cost(*first, request.now_ms) ? second : first;
}

}  // namespace lb::balancing
