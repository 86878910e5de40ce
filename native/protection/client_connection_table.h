// Open connections per client address, for the whole process: a fixed array of 64-bit
// atomics shared by every worker, each slot one word (48 bits of the address's hash, 16
// bits of count) changed only by compare-and-swap, so a slot is never half-written and
// no lock is taken. A client's slot is looked for in a window of kProbe slots from its
// hash; a client not there takes the first empty slot of the window, and a slot whose
// count falls to 0 is empty again. Exact but for one race: if a slot before a client's
// own empties while that client holds connections, a new connection of the same client
// can take the emptied slot, and the client's connections are then counted in two slots
// (each under the limit: at most twice the limit, until one of them empties). A window
// with no room (the table full around that hash) admits the connection uncounted and
// says so in a counter: refusing every client of a full window would hurt more.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace lb::protection {

class ClientConnectionTable {
 public:
  static constexpr uint32_t kProbe = 16;
  static constexpr uint32_t kMaxCount = 0xffff;
  enum class Admit : uint8_t { counted, over_limit, table_full };

  // `capacity` is rounded up to a power of two.
  explicit ClientConnectionTable(uint32_t capacity);

  // Counts one more connection of the client whose key_hash is `key`, unless it already
  // has `limit` (at most kMaxCount). On `counted`, `slot` is where to release it.
  Admit acquire(uint64_t key, uint32_t limit, uint32_t& slot);
  void release(uint32_t slot);

  // The clients with at least one connection (a walk over the table: for stats only).
  uint32_t occupied() const;
  uint32_t capacity() const { return mask_ + 1; }
  // Connections counted in the slot of `key` (tests and stats; 0 if absent).
  uint32_t count_of(uint64_t key) const;

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  uint32_t mask_;
};

}  // namespace lb::protection
