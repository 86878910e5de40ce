#include "protection/edge_rules.h"

#include <chrono>
#include <random>

#include "protection/key_hash.h"

namespace lb::protection {

const char* to_string(RateKey key) {
  switch (key) {
    case RateKey::client: return "client";
    case RateKey::header: return "header";
    case RateKey::path: return "path";
  }
  return "unknown";
}

namespace {
uint64_t process_seed() {
  std::random_device device;
  const uint64_t entropy = (static_cast<uint64_t>(device()) << 32) ^ device();
  return mix64(entropy ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
}
}  // namespace

EdgeShared::EdgeShared(size_t workers)
    : counters_(std::make_unique<EdgeWorkerCounters[]>(workers)),
      workers_(workers),
      connections_(kConnectionTableSize),
      seed_(process_seed()) {}

}  // namespace lb::protection
