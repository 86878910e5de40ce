#include "protection/cidr_set.h"

#include <arpa/inet.h>

#include <algorithm>

namespace lb::protection {

ClientAddress mask_address(const ClientAddress& address, uint8_t prefix) {
  ClientAddress out{};
  for (size_t i = 0; i < out.size(); ++i) {
    const int bits = static_cast<int>(prefix) - static_cast<int>(i) * 8;
    if (bits >= 8) {
      out[i] = address[i];
    } else if (bits > 0) {
      out[i] = static_cast<uint8_t>(address[i] & (0xff << (8 - bits)));
    }
  }
  return out;
}

bool parse_cidr(std::string_view text, CidrBlock& out, std::string& error) {
  // The longest valid form: a full IPv6 address with an embedded IPv4 part, and "/128".
  constexpr size_t kMaxText = 45 + 4;
  if (text.empty() || text.size() > kMaxText) {
    error = "expected an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32";
    return false;
  }
  const size_t slash = text.find('/');
  std::string_view host = text.substr(0, slash);
  int prefix = -1;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) {
      error = "expected a prefix length after '/'";
      return false;
    }
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') {
        error = "expected a prefix length after '/'";
        return false;
      }
      prefix = prefix * 10 + (c - '0');
    }
  }
  char buffer[kMaxText + 1];
  std::copy(host.begin(), host.end(), buffer);
  buffer[host.size()] = '\0';
  uint8_t v4[4];
  ClientAddress address{};
  int max_prefix = 0;
  int offset = 0;  // IPv4 prefixes count from bit 96 of the mapped form
  if (inet_pton(AF_INET, buffer, v4) == 1) {
    address = v4_mapped(v4);
    max_prefix = 32;
    offset = 96;
  } else if (inet_pton(AF_INET6, buffer, address.data()) == 1) {
    max_prefix = 128;
  } else {
    error = "expected an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32";
    return false;
  }
  if (prefix < 0) prefix = max_prefix;
  if (prefix > max_prefix) {
    error = "prefix length must be 0-" + std::to_string(max_prefix);
    return false;
  }
  out.prefix = static_cast<uint8_t>(prefix + offset);
  out.address = mask_address(address, out.prefix);
  if (out.address != address) {
    error = "host bits are set past the prefix length (did you mean the network address?)";
    return false;
  }
  return true;
}

void CidrSet::add(const CidrBlock& block) {
  auto group = std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return g.prefix == block.prefix; });
  if (group == groups_.end()) {
    groups_.push_back({block.prefix, {}});
    std::sort(groups_.begin(), groups_.end(), [](const Group& a, const Group& b) { return a.prefix > b.prefix; });
    group = std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return g.prefix == block.prefix; });
  }
  const ClientAddress masked = mask_address(block.address, block.prefix);
  auto at = std::lower_bound(group->addresses.begin(), group->addresses.end(), masked);
  if (at != group->addresses.end() && *at == masked) return;
  group->addresses.insert(at, masked);
  ++size_;
}

bool CidrSet::contains(const ClientAddress& address) const {
  for (const Group& group : groups_) {
    const ClientAddress masked = mask_address(address, group.prefix);
    if (std::binary_search(group.addresses.begin(), group.addresses.end(), masked)) return true;
  }
  return false;
}

}  // namespace lb::protection
