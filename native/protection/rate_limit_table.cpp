#include "protection/rate_limit_table.h"

#include <bit>

namespace lb::protection {

RateLimitTable::RateLimitTable(uint32_t capacity) {
  const uint32_t size = std::bit_ceil(capacity < kProbe ? kProbe : capacity);
  slots_ = std::make_unique<Slot[]>(size);
  mask_ = size - 1;
}

TokenBucket& RateLimitTable::find_or_add(uint64_t key, const TokenRate& rate, uint64_t now_ms, bool& evicted) {
  evicted = false;
  const uint32_t start = static_cast<uint32_t>(key) & mask_;
  Slot* empty = nullptr;
  Slot* refilled = nullptr;
  Slot* oldest = nullptr;
  for (uint32_t i = 0; i < kProbe; ++i) {
    Slot& slot = slots_[(start + i) & mask_];
    if (slot.key == key) return slot.bucket;
    if (slot.key == 0) {
      if (!empty) empty = &slot;
      continue;
    }
    if (!refilled && slot.bucket.full_at(now_ms)) refilled = &slot;
    if (!oldest || slot.bucket.updated_ms < oldest->bucket.updated_ms) oldest = &slot;
  }
  Slot* target = empty ? empty : refilled ? refilled : oldest;
  if (target == empty) {
    ++size_;
  } else if (target == oldest && target != refilled) {
    evicted = true;
  }
  target->key = key;
  target->bucket.fill(rate, now_ms);
  return target->bucket;
}

}  // namespace lb::protection
