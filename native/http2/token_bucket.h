// A token bucket over a millisecond clock the caller passes in (the worker's loop clock),
// so the defences cost no system call and tests choose the time.
#pragma once

#include <cstdint>

#include "http2/session_limits.h"

namespace lb::http2 {

class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(RateLimit limit, uint64_t now_ms) : limit_(limit), tokens_(limit.burst), last_ms_(now_ms) {}

  // Takes one token; false when none is left.
  bool take(uint64_t now_ms) {
    refill(now_ms);
    if (tokens_ == 0) return false;
    --tokens_;
    return true;
  }
  // Extra tokens earned by useful work, never past the burst.
  void earn(uint32_t tokens) { tokens_ = tokens_ + tokens > limit_.burst ? limit_.burst : tokens_ + tokens; }

 private:
  void refill(uint64_t now_ms) {
    if (now_ms <= last_ms_ || limit_.per_second == 0) return;
    uint64_t gained = (now_ms - last_ms_) * limit_.per_second / 1000;
    if (gained == 0) return;  // keep last_ms_ so partial tokens accumulate
    last_ms_ += gained * 1000 / limit_.per_second;
    tokens_ = tokens_ + gained > limit_.burst ? limit_.burst : static_cast<uint32_t>(tokens_ + gained);
  }

  RateLimit limit_;
  uint32_t tokens_ = 0;
  uint64_t last_ms_ = 0;
};

}  // namespace lb::http2
