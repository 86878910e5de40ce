#include "protection/client_connection_table.h"

#include <bit>

namespace lb::protection {

namespace {
constexpr uint64_t kCountMask = 0xffff;
// The 48 bits of the hash kept in a slot; never 0, so an occupied slot is never 0.
uint64_t tag_of(uint64_t key) {
  const uint64_t tag = key & ~kCountMask;
  return tag == 0 ? (uint64_t{1} << 16) : tag;
}
}  // namespace

ClientConnectionTable::ClientConnectionTable(uint32_t capacity) {
  const uint32_t size = std::bit_ceil(capacity < kProbe ? kProbe : capacity);
  slots_ = std::make_unique<std::atomic<uint64_t>[]>(size);
  for (uint32_t i = 0; i < size; ++i) slots_[i].store(0, std::memory_order_relaxed);
  mask_ = size - 1;
}

ClientConnectionTable::Admit ClientConnectionTable::acquire(uint64_t key, uint32_t limit, uint32_t& slot) {
  const uint64_t tag = tag_of(key);
  const uint32_t start = static_cast<uint32_t>(key) & mask_;
  if (limit > kMaxCount) limit = kMaxCount;
  // First the client's own slot anywhere in the window, then the first empty one.
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t i = 0; i < kProbe; ++i) {
      const uint32_t index = (start + i) & mask_;
      std::atomic<uint64_t>& word = slots_[index];
      uint64_t seen = word.load(std::memory_order_acquire);
      for (;;) {
        const bool mine = seen != 0 && (seen & ~kCountMask) == tag;
        const bool free = seen == 0 && pass == 1;
        if (!mine && !free) break;
        if (mine && (seen & kCountMask) >= limit) return Admit::over_limit;
        const uint64_t next = mine ? seen + 1 : (tag | 1);
        if (word.compare_exchange_weak(seen, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
          slot = index;
          return Admit::counted;
        }
        // Changed under us: look at the new value of the same slot.
      }
    }
  }
  return Admit::table_full;
}

void ClientConnectionTable::release(uint32_t slot) {
  std::atomic<uint64_t>& word = slots_[slot & mask_];
  uint64_t seen = word.load(std::memory_order_acquire);
  for (;;) {
    if ((seen & kCountMask) == 0) return;  // never below zero
    const uint64_t next = (seen & kCountMask) == 1 ? 0 : seen - 1;
    if (word.compare_exchange_weak(seen, next, std::memory_order_acq_rel, std::memory_order_acquire)) return;
  }
}

uint32_t ClientConnectionTable::occupied() const {
  uint32_t count = 0;
  for (uint32_t i = 0; i <= mask_; ++i) count += slots_[i].load(std::memory_order_relaxed) != 0;
  return count;
}

uint32_t ClientConnectionTable::count_of(uint64_t key) const {
  const uint64_t tag = tag_of(key);
  const uint32_t start = static_cast<uint32_t>(key) & mask_;
  uint32_t total = 0;
  for (uint32_t i = 0; i < kProbe; ++i) {
    const uint64_t seen = slots_[(start + i) & mask_].load(std::memory_order_acquire);
    if (seen != 0 && (seen & ~kCountMask) == tag) total += static_cast<uint32_t>(seen & kCountMask);
  }
  return total;
}

}  // namespace lb::protection
