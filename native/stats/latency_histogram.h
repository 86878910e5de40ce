// A latency histogram cheap enough to keep on for every request: fixed bucket bounds
// (the ones Prometheus users expect for HTTP latencies), one single-writer counter per
// bucket, and a running sum. Recording is a short scan over 14 bounds and two stores.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stats/counter.h"

namespace lb::stats {

class LatencyHistogram {
 public:
  // Upper bounds in microseconds; a last, implicit bucket holds everything slower.
  static constexpr uint64_t kBoundsUs[] = {500,    1000,   2500,   5000,    10000,   25000,   50000,
                                           100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
  static constexpr size_t kBuckets = sizeof(kBoundsUs) / sizeof(kBoundsUs[0]) + 1;

  void record(uint64_t micros) {
    size_t bucket = 0;
    while (bucket < kBuckets - 1 && micros > kBoundsUs[bucket]) ++bucket;
    buckets_[bucket].add();
    sum_us_.add(micros);
  }
  // Count in bucket `i` (not cumulative).
  uint64_t bucket(size_t i) const { return buckets_[i].get(); }
  uint64_t sum_us() const { return sum_us_.get(); }

 private:
  Counter buckets_[kBuckets];
  Counter sum_us_;
};

}  // namespace lb::stats
