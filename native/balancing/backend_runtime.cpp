#include "balancing/backend_runtime.h"

#include <cmath>

namespace lb::balancing {

void BackendRuntime::record_latency(uint64_t latency_us, uint64_t now_ms, double decay_ms) {
  double sample = static_cast<double>(latency_us);
  if (ewma_updated_ms == 0 || sample > ewma_latency_us) {
    // Peak sensitivity: a slow response counts in full at once, so a backend that just
    // became slow stops being chosen before its average catches up.
    ewma_latency_us = sample;
  } else {
    double elapsed = static_cast<double>(now_ms - ewma_updated_ms);
    double keep = std::exp(-elapsed / decay_ms);
    ewma_latency_us = ewma_latency_us * keep + sample * (1.0 - keep);
  }
  ewma_updated_ms = now_ms;
}

}  // namespace lb::balancing
