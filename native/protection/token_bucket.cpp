#include "protection/token_bucket.h"

#include <algorithm>
#include <cstdint>

namespace lb::protection {

namespace {
// The bucket's content at `now_ms`. Each millisecond adds `milli_per_second` millionths.
uint64_t refilled(const TokenBucket& bucket, const TokenRate& rate, uint64_t now_ms) {
  const uint64_t capacity = rate.burst * kMicro;
  const uint64_t held = std::min(bucket.micro_tokens, capacity);
  if (now_ms <= bucket.updated_ms || rate.milli_per_second == 0) return held;
  const uint64_t elapsed = now_ms - bucket.updated_ms;
  // Checked first so the product below cannot overflow after a long lull.
  if (elapsed >= (capacity - held) / rate.milli_per_second + 1) return capacity;
  return std::min(capacity, held + elapsed * rate.milli_per_second);
}
}  // namespace

uint64_t TokenBucket::take(const TokenRate& rate, uint64_t now_ms) {
  micro_tokens = refilled(*this, rate, now_ms);
  updated_ms = std::max(updated_ms, now_ms);
  if (micro_tokens >= kMicro) {
    micro_tokens -= kMicro;
    const uint64_t room = rate.burst * kMicro - micro_tokens;
    full_ms = rate.milli_per_second == 0 ? UINT64_MAX
                                         : updated_ms + (room + rate.milli_per_second - 1) / rate.milli_per_second;
    return 0;
  }
  if (rate.milli_per_second == 0) return UINT32_MAX;
  const uint64_t missing = kMicro - micro_tokens;
  return (missing + rate.milli_per_second - 1) / rate.milli_per_second;
}

}  // namespace lb::protection
