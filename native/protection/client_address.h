// A client's address as the protection rules see it: 16 bytes, IPv4 as its v4-mapped IPv6
// form (::ffff:a.b.c.d). One form for both families means one matcher and one table key,
// and a client reaching a dual-stack listener as ::ffff:a.b.c.d matches IPv4 rules.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace lb::protection {

using ClientAddress = std::array<uint8_t, 16>;

// The v4-mapped prefix ::ffff:0:0/96.
inline constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

inline ClientAddress v4_mapped(const uint8_t (&v4)[4]) {
  ClientAddress out{};
  std::memcpy(out.data(), kV4MappedPrefix, 12);
  std::memcpy(out.data() + 12, v4, 4);
  return out;
}

// False for families other than IPv4 and IPv6 (never a TCP peer).
inline bool client_address_of(const sockaddr* address, ClientAddress& out) {
  if (address->sa_family == AF_INET) {
    uint8_t v4[4];
    std::memcpy(v4, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, 4);
    out = v4_mapped(v4);
    return true;
  }
  if (address->sa_family == AF_INET6) {
    std::memcpy(out.data(), &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, 16);
    return true;
  }
  return false;
}

}  // namespace lb::protection
