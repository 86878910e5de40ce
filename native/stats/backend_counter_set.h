// One backend's counters: a slot per worker. Created by the control plane when a backend
// id first appears and shared by every configuration snapshot that names it.
#pragma once

#include <cstddef>
#include <memory>

#include "stats/backend_load.h"
#include "stats/worker_counters.h"

namespace lb::stats {

class BackendCounterSet {
 public:
  explicit BackendCounterSet(size_t workers)
      : slots_(std::make_unique<BackendWorkerCounters[]>(workers)), workers_(workers) {}

  BackendWorkerCounters& slot(size_t worker) { return slots_[worker]; }
  const BackendWorkerCounters& slot(size_t worker) const { return slots_[worker]; }
  size_t workers() const { return workers_; }
  // Shared by the workers: requests in flight (maxConnections) and the queue's numbers.
  BackendLoad& load() { return load_; }
  const BackendLoad& load() const { return load_; }

 private:
  std::unique_ptr<BackendWorkerCounters[]> slots_;
  size_t workers_;
  BackendLoad load_;
};

}  // namespace lb::stats
