// Allow and deny lists: a set of CIDR blocks (IPv4 and IPv6) and the question "is this
// client in one of them". Blocks are kept grouped by prefix length, each group a sorted
// vector of masked addresses, so a lookup is one binary search per distinct prefix length
// (at most 129, in practice a handful) whatever the size of the list. Built once per
// configuration snapshot and never changed after: workers read it without a lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protection/client_address.h"

namespace lb::protection {

// One block; IPv4 blocks are stored v4-mapped (10.0.0.0/8 is ::ffff:10.0.0.0/104).
struct CidrBlock {
  ClientAddress address{};  // host bits cleared
  uint8_t prefix = 0;       // 0..128
};

// Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits set
// in a block ("10.0.0.1/8") are refused, as a likely typo (nginx accepts them with a
// warning; a list that silently covers more than was written is worse). `error` says what
// was expected. Never throws, never reads past `text`.
bool parse_cidr(std::string_view text, CidrBlock& out, std::string& error);

class CidrSet {
 public:
  void add(const CidrBlock& block);
  bool contains(const ClientAddress& address) const;
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

 private:
  struct Group {
    uint8_t prefix;
    std::vector<ClientAddress> addresses;  // sorted, unique
  };
  std::vector<Group> groups_;  // by prefix length, longest first
  size_t size_ = 0;
};

// Clears the bits of `address` past `prefix`.
ClientAddress mask_address(const ClientAddress& address, uint8_t prefix);

}  // namespace lb::protection
