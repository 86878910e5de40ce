// One worker's counts of requests admitted under cluster-wide rate limits, by key, since
// the control plane last collected them (docs/protection.md, "Across balancers"). The
// worker adds on the request path with relaxed atomics and no lock; the control plane
// collects every interval from the JavaScript thread. Two fixed-size tables take turns:
// a collection switches the worker to the other one and reads the one it left; the one
// switched to was read a whole interval before, so a worker still writing to it then
// (it loaded the turn just before the switch) has long finished, and what it wrote was
// collected before the table was cleared. Only a worker preempted for a whole interval
// between choosing its table and adding can lose that one count (or give it to the next
// key of its slot). Memory is fixed at construction.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace lb::protection {

class ClusterCounts {
 public:
  static constexpr uint32_t kProbe = 8;

  // `capacity`: distinct keys one interval can hold (rounded up to a power of two).
  explicit ClusterCounts(uint32_t capacity);

  // Worker thread: one more admitted request for `key` (a cluster key hash) of rule
  // `rule`. False when the key's probe window is full of other keys (not counted).
  bool add(uint64_t key, uint32_t rule);

  // Control thread: every count gathered since the last call, each (key, rule, count)
  // once, then zeroed.
  void collect(const std::function<void(uint64_t key, uint32_t rule, uint64_t count)>& visit);

  uint32_t capacity() const { return mask_ + 1; }
  size_t memory_bytes() const { return 2 * sizeof(Slot) * capacity(); }

 private:
  struct Slot {
    std::atomic<uint64_t> key{0};  // 0: empty
    std::atomic<uint32_t> rule{0};
    std::atomic<uint32_t> count{0};
  };
  std::unique_ptr<Slot[]> tables_[2];
  uint32_t mask_;
  std::atomic<uint32_t> turn_{0};  // the table the worker writes to
};

}  // namespace lb::protection
