// The data path's side of cluster-wide rate limits (docs/protection.md, "Across
// balancers"): each worker counts what it admits under a cluster rule (ClusterCounts),
// and checks the keys the control plane found over the limit in Redis (ClusterBlocks).
// The control plane (src/protection/cluster-limits.ts) collects the counts, exchanges
// them with Redis, installs the blocks, and says when Redis cannot be reached (degraded:
// each worker then applies the rule's local share instead). Nothing here waits on the
// network or takes a lock. Made once per balancer by the addon and handed to every
// snapshot, so counts and blocks outlive reloads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "protection/cluster_blocks.h"
#include "protection/cluster_counts.h"
#include "stats/counter.h"

namespace lb::protection {

class ClusterLimits {
 public:
  // One worker's cluster counters (single writer: that worker).
  struct alignas(64) WorkerCounters {
    stats::Counter limited;         // 429s because the key was blocked cluster-wide
    stats::Counter counts_dropped;  // admissions not counted: the count table had no room
  };

  ClusterLimits(size_t workers, uint32_t keys)
      : workers_(workers), blocks_(keys), counters_(std::make_unique<WorkerCounters[]>(workers)) {
    counts_ = std::make_unique<std::unique_ptr<ClusterCounts>[]>(workers);
    for (size_t w = 0; w < workers; ++w) counts_[w] = std::make_unique<ClusterCounts>(keys);
  }

  size_t workers() const { return workers_; }
  ClusterCounts& counts(size_t worker) { return *counts_[worker]; }
  ClusterBlocks& blocks() { return blocks_; }
  const ClusterBlocks& blocks() const { return blocks_; }
  WorkerCounters& counters(size_t worker) { return counters_[worker]; }
  const WorkerCounters& counters(size_t worker) const { return counters_[worker]; }

  // Redis unreachable: workers apply each cluster rule's local share, and no block.
  bool degraded() const { return degraded_.load(std::memory_order_relaxed); }
  void set_degraded(bool degraded) { degraded_.store(degraded, std::memory_order_relaxed); }

  size_t memory_bytes() const { return blocks_.memory_bytes() + workers_ * counts_[0]->memory_bytes(); }

 private:
  size_t workers_;
  ClusterBlocks blocks_;
  std::unique_ptr<std::unique_ptr<ClusterCounts>[]> counts_;
  std::unique_ptr<WorkerCounters[]> counters_;
  std::atomic<bool> degraded_{false};
};

}  // namespace lb::protection
