#include "balancing/random_choice.h"

#include <cmath>

namespace lb::balancing {

BackendRuntime* RandomChoice::weighted_pick(std::span<BackendRuntime* const> backends, const PickRequest& request,
                                            const BackendRuntime* exclude) {
  uint64_t total = 0;
  for (BackendRuntime* backend : backends) {
    if (backend != exclude && request.usable(backend)) total += request.weight(backend);
  }
  if (total == 0) return nullptr;
  uint64_t point = random_.below(total);
  for (BackendRuntime* backend : backends) {
    if (backend == exclude || !request.usable(backend)) continue;
    uint64_t weight = request.weight(backend);
    if (point < weight) return backend;
    point -= weight;
  }
  return nullptr;
}

double RandomChoice::cost(const BackendRuntime& backend, const PickRequest& request) const {
  uint64_t now_ms = request.now_ms;
  double load = static_cast<double>(backend.exchanges_in_flight) + 1.0;
  double weight = static_cast<double>(request.weight(&backend));
  if (compare_ == Compare::in_flight) return load / weight;
  // The average decays towards zero while no sample arrives, so a backend that was slow
  // once is tried again after a while instead of being starved for ever.
  double elapsed = backend.ewma_updated_ms ? static_cast<double>(now_ms - backend.ewma_updated_ms) : 0;
  double latency = backend.ewma_latency_us * std::exp(-elapsed / decay_ms_);
  return (latency + 1.0) * load / weight;
}

BackendRuntime* RandomChoice::pick(std::span<BackendRuntime* const> backends, const PickRequest& request) {
  BackendRuntime* first = weighted_pick(backends, request, nullptr);
  if (!first || compare_ == Compare::none) return first;
  BackendRuntime* second = weighted_pick(backends, request, first);
  if (!second) return first;
  return cost(*second, request) < cost(*first, request) ? second : first;
}

}  // namespace lb::balancing
