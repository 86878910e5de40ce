#include "protection/cluster_counts.h"

#include <bit>

namespace lb::protection {

ClusterCounts::ClusterCounts(uint32_t capacity) {
  const uint32_t size = std::bit_ceil(capacity < kProbe ? kProbe : capacity);
  tables_[0] = std::make_unique<Slot[]>(size);
  tables_[1] = std::make_unique<Slot[]>(size);
  mask_ = size - 1;
}

bool ClusterCounts::add(uint64_t key, uint32_t rule) {
  Slot* table = tables_[turn_.load(std::memory_order_acquire)].get();
  const uint32_t start = static_cast<uint32_t>(key) & mask_;
  for (uint32_t i = 0; i < kProbe; ++i) {
    Slot& slot = table[(start + i) & mask_];
    const uint64_t held = slot.key.load(std::memory_order_relaxed);
    if (held == 0) {
      // One writer per table (this worker): claiming an empty slot needs no exchange.
      slot.rule.store(rule, std::memory_order_relaxed);
      slot.key.store(key, std::memory_order_release);
    } else if (held != key) {
      continue;
    }
    slot.count.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

void ClusterCounts::collect(const std::function<void(uint64_t, uint32_t, uint64_t)>& visit) {
  const uint32_t left = turn_.load(std::memory_order_relaxed);
  const uint32_t next = 1 - left;
  auto read = [&](Slot* table, bool clear) {
    for (uint32_t i = 0; i <= mask_; ++i) {
      Slot& slot = table[i];
      const uint64_t key = slot.key.load(std::memory_order_acquire);
      if (key == 0) continue;
      const uint32_t count = slot.count.exchange(0, std::memory_order_relaxed);
      if (count != 0) visit(key, slot.rule.load(std::memory_order_relaxed), count);
      if (clear) slot.key.store(0, std::memory_order_relaxed);
    }
  };
  // The table about to be written again: late additions since it was last read, then empty.
  read(tables_[next].get(), true);
  turn_.store(next, std::memory_order_release);
  // The table just left: its counts now; its keys stay until it is cleared next time.
  read(tables_[left].get(), false);
}

}  // namespace lb::protection
