#include "protection/cluster_blocks.h"

#include <bit>

namespace lb::protection {

namespace {
// Milliseconds from `now` to `until` on 32-bit wrapping clocks; negative when past.
int64_t remaining(uint64_t value, uint64_t now_ms) {
  return static_cast<int32_t>(static_cast<uint32_t>(value) - static_cast<uint32_t>(now_ms));
}
}  // namespace

ClusterBlocks::ClusterBlocks(uint32_t capacity) {
  const uint32_t size = std::bit_ceil(capacity < kProbe ? kProbe : capacity);
  slots_ = std::make_unique<std::atomic<uint64_t>[]>(size);
  for (uint32_t i = 0; i < size; ++i) slots_[i].store(0, std::memory_order_relaxed);
  mask_ = size - 1;
}

uint64_t ClusterBlocks::fingerprint(uint64_t key) {
  const uint64_t high = key >> 32;
  return high == 0 ? 1 : high;
}

bool ClusterBlocks::live(uint64_t value, uint64_t now_ms) { return value != 0 && remaining(value, now_ms) > 0; }

uint64_t ClusterBlocks::blocked_for(uint64_t key, uint64_t now_ms) const {
  const uint64_t print = fingerprint(key);
  const uint32_t start = static_cast<uint32_t>(key) & mask_;
  for (uint32_t i = 0; i < kProbe; ++i) {
    const uint64_t value = slots_[(start + i) & mask_].load(std::memory_order_acquire);
    if ((value >> 32) != print) continue;
    const int64_t left = remaining(value, now_ms);
    return left > 0 ? static_cast<uint64_t>(left) : 0;
  }
  return 0;
}

bool ClusterBlocks::block(uint64_t key, uint64_t until_ms) {
  const uint64_t print = fingerprint(key);
  const uint32_t start = static_cast<uint32_t>(key) & mask_;
  std::atomic<uint64_t>* free_slot = nullptr;
  for (uint32_t i = 0; i < kProbe; ++i) {
    std::atomic<uint64_t>& slot = slots_[(start + i) & mask_];
    const uint64_t value = slot.load(std::memory_order_relaxed);
    if ((value >> 32) == print) {
      if (!live(value, until_ms)) {
        slot.store(print << 32 | static_cast<uint32_t>(until_ms), std::memory_order_release);
      }
      return true;
    }
    if (!free_slot && value == 0) free_slot = &slot;
  }
  if (!free_slot) return false;
  free_slot->store(print << 32 | static_cast<uint32_t>(until_ms), std::memory_order_release);
  return true;
}

uint32_t ClusterBlocks::sweep(uint64_t now_ms) {
  uint32_t remaining_blocks = 0;
  for (uint32_t i = 0; i <= mask_; ++i) {
    const uint64_t value = slots_[i].load(std::memory_order_relaxed);
    if (value == 0) continue;
    if (live(value, now_ms)) {
      ++remaining_blocks;
    } else {
      slots_[i].store(0, std::memory_order_relaxed);
    }
  }
  return remaining_blocks;
}

void ClusterBlocks::clear() {
  for (uint32_t i = 0; i <= mask_; ++i) slots_[i].store(0, std::memory_order_relaxed);
}

}  // namespace lb::protection
