// libFuzzer target for the allow/deny list parser (native/protection/cidr_set.cpp): any
// bytes either parse or are refused with a message, and what parses holds its invariants:
// a prefix of at most 128 bits, no host bits past it, a set that contains the block's own
// address and, for a prefix below 128, the last address of the block but not the one
// after it (when there is one).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protection/cidr_set.h"

namespace {
void invariant(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "invariant failed: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lb::protection;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CidrBlock block;
  std::string error;
  if (!parse_cidr(text, block, error)) {
    invariant(!error.empty(), "a refusal says why");
    return 0;
  }
  invariant(block.prefix <= 128, "prefix at most 128");
  invariant(mask_address(block.address, block.prefix) == block.address, "no host bits");
  CidrSet set;
  set.add(block);
  invariant(set.contains(block.address), "a block contains its own address");
  // The block's last address: every host bit set.
  ClientAddress last = block.address;
  for (int bit = block.prefix; bit < 128; ++bit) last[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
  invariant(set.contains(last), "a block contains its last address");
  // The address after it, unless the block ends the address space.
  ClientAddress next = last;
  int i = 15;
  while (i >= 0 && ++next[i] == 0) --i;
  if (i >= 0) invariant(!set.contains(next), "a block stops at its last address");
  return 0;
}
