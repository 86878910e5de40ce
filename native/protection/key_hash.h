// The 64-bit hash that names a rate-limit key in a worker's table (and a client in the
// connection table). Seeded per process, so a client cannot choose keys that land in
// one probe window and evict a chosen victim. Key bytes are never kept: two keys with
// the same 64-bit hash share a bucket (at 64 bits, for a table of 2^16 keys, about one
// chance in 2^32 over its whole content).
#pragma once

#include <cstdint>
#include <string_view>

namespace lb::protection {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// 8 bytes at a time, each word mixed in; never returns 0 (0 marks an empty slot).
inline uint64_t key_hash(uint64_t seed, std::string_view bytes) {
  uint64_t h = mix64(seed ^ (bytes.size() * 0x9e3779b97f4a7c15ull));
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word = 0;
    for (size_t b = 0; b < 8; ++b) word |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i + b])) << (8 * b);
    h = mix64(h ^ word);
  }
  uint64_t tail = 0;
  for (size_t b = 0; i + b < bytes.size(); ++b)
    tail |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i + b])) << (8 * b);
  h = mix64(h ^ tail ^ 0xff);
  return h == 0 ? 1 : h;
}

}  // namespace lb::protection
