// Hashing for the strategies that map a key (client address, header, URI) to a backend.
// Fixed functions, independent of process and build, so that every balancer that sees
// the same backends maps the same key to the same backend.
#pragma once

#include <cstdint>
#include <string_view>

namespace lb::balancing {

// FNV-1a over the bytes, then a 64-bit finaliser so nearby inputs spread well.
inline uint64_t hash_bytes(std::string_view bytes, uint64_t seed = 0) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

inline uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t h = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
  h ^= h >> 31;
  h *= 0x7fb5d329728ea185ull;
  h ^= h >> 27;
  h *= 0x81dadef4bc2dd44dull;
  h ^= h >> 33;
  return h;
}

// A small fast generator for per-worker random choices (not for secrets).
class Xorshift {
 public:
  explicit Xorshift(uint64_t seed) : state_(seed ? seed : 0x2545f4914f6cdd1dull) {}
  uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  // Uniform in [0, bound).
  uint64_t below(uint64_t bound) { return bound ? next() % bound : 0; }

 private:
  uint64_t state_;
};

}  // namespace lb::balancing
