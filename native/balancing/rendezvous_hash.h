// Consistent hashing by weighted rendezvous (highest random weight): every backend
// scores the key, the best score wins. Removing one of N backends moves exactly the keys
// it owned (about 1/N) and no others; adding one takes about 1/(N+1) of the keys from
// the others. Scores use the backend's address identity, not its id or its position, so
// balancers that see the same backends agree on every key. A pick costs O(N) hash
// evaluations, which is cheap for the tens of backends a head box fronts.
#pragma once

#include "balancing/strategy.h"

namespace lb::balancing {

class RendezvousHash final : public Strategy {
 public:
  explicit RendezvousHash(std::unique_ptr<Strategy> fallback) : fallback_(std::move(fallback)) {}
  BackendRuntime* pick(std::span<BackendRuntime* const> backends, const PickRequest& request) override;

  // The score of `backend` for `key` (exposed for tests).
  static double score(uint64_t key, const BackendRuntime& backend);

 private:
  // For requests without a key (e.g. the header is missing).
  std::unique_ptr<Strategy> fallback_;
};

}  // namespace lb::balancing
