// A token bucket (what Envoy's local rate limit and HAProxy's rate counters amount to):
// `burst` tokens at most, refilled at `rate` per second; a request takes one. Times are
// the loop's millisecond clock, so a bucket costs no system call. Tokens are counted in
// millionths: a rate in thousandths per second then adds a whole number of them every
// millisecond, so no fraction is lost however often the bucket is looked at.
#pragma once

#include <cstdint>

namespace lb::protection {

struct TokenRate {
  uint64_t milli_per_second = 1000;  // tokens/s x 1000 (rate 0.5/s is 500)
  uint64_t burst = 1;                // bucket size, in whole tokens
};

inline constexpr uint64_t kMicro = 1000000;

struct TokenBucket {
  uint64_t micro_tokens = 0;
  uint64_t updated_ms = 0;
  uint64_t full_ms = 0;  // when it will be full again (kept so a table can tell without the rate)

  // A bucket not seen before starts full.
  void fill(const TokenRate& rate, uint64_t now_ms) {
    micro_tokens = rate.burst * kMicro;
    updated_ms = now_ms;
    full_ms = now_ms;
  }
  // Takes a token: 0 if there was one, else the milliseconds until there will be one.
  uint64_t take(const TokenRate& rate, uint64_t now_ms);
  // Full again: as good as a bucket never seen (the table may forget it at no cost).
  bool full_at(uint64_t now_ms) const { return now_ms >= full_ms; }
};

}  // namespace lb::protection
