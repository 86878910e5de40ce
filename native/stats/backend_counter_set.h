// One backend's counters: a slot per worker. Created by the control plane when a backend
// id first appears and shared by every configuration snapshot that names it.
#pragma once

#include <cstddef>
#include <memory>

#include "stats/worker_counters.h"

namespace lb::stats {

class BackendCounterSet {
 public:
  explicit BackendCounterSet(size_t workers)
      : slots_(std::make_unique<BackendWorkerCounters[]>(workers)), workers_(workers) {}

  BackendWorkerCounters& slot(size_t worker) { return slots_[worker]; }
  const BackendWorkerCounters& slot(size_t worker) const { return slots_[worker]; }
  size_t workers() const { return workers_; }

 private:
  std::unique_ptr<BackendWorkerCounters[]> slots_;
  size_t workers_;
};

}  // namespace lb::stats
