#include "balancing/rendezvous_hash.h"

#include <cmath>

#include "balancing/hash.h"

namespace lb::balancing {

double RendezvousHash::score(uint64_t key, const BackendRuntime& backend) {
  // Weighted rendezvous: -weight / ln(u) with u uniform in (0, 1) from hash(key, backend).
  uint64_t h = mix(key, backend.identity);
  double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;  // 2^53
  return -static_cast<double>(backend.spec.weight) / std::log(u);
}

BackendRuntime* RendezvousHash::pick(std::span<BackendRuntime* const> backends, const PickRequest& request) {
  if (!request.has_key) return fallback_->pick(backends, request);
  BackendRuntime* best = nullptr;
  double best_score = 0;
  for (BackendRuntime* backend : backends) {
    if (!request.usable(backend)) continue;
    double s = score(request.key, *backend);
    if (!best || s > best_score) {
      best = backend;
      best_score = s;
    }
  }
  return best;
}

}  // namespace lb::balancing
