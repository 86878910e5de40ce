// The responses of a limit: 429 Too Many Requests (a rate limit) and 503 Service
// Unavailable (a backend's queue timed out), each with Retry-After in whole seconds
// (RFC 9110 10.2.3), so well-behaved clients back off for as long as it takes.
#pragma once

#include <cstdint>

#include "buffer/byte_buffer.h"

namespace lb::protection {

// `status` 429 or 503. False if `out` has no room (it never happens with an empty buffer).
bool write_limit_response(uint16_t status, uint32_t retry_after_s, bool close, buffer::ByteBuffer& out);

// Milliseconds to wait, as Retry-After's whole seconds: rounded up, at least 1.
inline uint32_t retry_after_seconds(uint64_t wait_ms) {
  const uint64_t seconds = (wait_ms + 999) / 1000;
  return seconds == 0 ? 1 : seconds > 86400 ? 86400 : static_cast<uint32_t>(seconds);
}

}  // namespace lb::protection
