// One worker's token buckets, one per key (a client address, a header value, a path
// prefix, with the rule mixed in), in a fixed-size open-addressing table: its memory is
// allocated once and never grows, whatever number of distinct keys arrives. A key is
// looked for in a window of kProbe slots from its hash; a new key takes an empty slot
// there, else replaces a bucket that has refilled (forgetting it loses nothing), else the
// bucket used least recently (then that key starts again with a full bucket: a flood of
// new keys can make an old, limited key forget its debt, never more than the window's
// oldest one at a time). Slots are never emptied, so probe windows stay valid without
// tombstones. Owned by one worker thread; no atomics but the size gauge it publishes.
#pragma once

#include <cstdint>
#include <memory>

#include "protection/token_bucket.h"

namespace lb::protection {

class RateLimitTable {
 public:
  static constexpr uint32_t kProbe = 8;

  // `capacity` is rounded up to a power of two (at least kProbe).
  explicit RateLimitTable(uint32_t capacity);

  // The bucket of `key` (a key_hash), created full if new. `evicted` is set when a live
  // key had to make room.
  TokenBucket& find_or_add(uint64_t key, const TokenRate& rate, uint64_t now_ms, bool& evicted);

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return mask_ + 1; }
  // Bytes held by the table: fixed at construction.
  size_t memory_bytes() const { return sizeof(Slot) * capacity(); }

 private:
  struct Slot {
    uint64_t key = 0;  // 0: empty
    TokenBucket bucket;
  };
  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_;
  uint32_t size_ = 0;
};

}  // namespace lb::protection
