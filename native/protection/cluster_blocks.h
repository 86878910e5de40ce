// The cluster-wide rate-limit keys that are over their limit, each until a time: written
// by the control plane from Redis's answers, read by every worker on the request path
// without a lock. A fixed-size table of 64-bit atomics, each holding a key's 32-bit
// fingerprint and the end of its block (milliseconds on the monotonic clock, 32 bits,
// compared with wrap-around: a block lasts well under 24 days, and expired slots are
// swept on every install); one load reads both, so a slot being reused never pairs one
// key with another's time. A fingerprint and its probe window together name a key by
// about 46 bits of its hash: two keys confused need ~2^46 blocked keys' worth of luck.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace lb::protection {

class ClusterBlocks {
 public:
  static constexpr uint32_t kProbe = 8;

  explicit ClusterBlocks(uint32_t capacity);

  // Any worker: the milliseconds `key` stays blocked after `now_ms`, 0 if not blocked.
  uint64_t blocked_for(uint64_t key, uint64_t now_ms) const;

  // Control thread: blocks `key` until `until_ms` (a later block wins). False when the
  // window has no room (every slot blocked for another key): not installed.
  bool block(uint64_t key, uint64_t until_ms);
  // Control thread: frees every slot whose block ended; returns how many remain.
  uint32_t sweep(uint64_t now_ms);
  // Control thread: unblocks everything.
  void clear();

  uint32_t capacity() const { return mask_ + 1; }
  size_t memory_bytes() const { return sizeof(std::atomic<uint64_t>) * capacity(); }

 private:
  static uint64_t fingerprint(uint64_t key);
  static bool live(uint64_t value, uint64_t now_ms);
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;  // fingerprint << 32 | until (low 32 bits); 0: empty
  uint32_t mask_;
};

}  // namespace lb::protection
