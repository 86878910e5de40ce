// A numeric IPv4 or IPv6 socket address. Names are resolved by the control plane; the
// data path only ever sees numbers.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lb::net {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  uint16_t port() const;

  // Parses a numeric host ("127.0.0.1", "::1", no brackets) and a port. False if the host
  // is not a numeric address.
  static bool parse(const std::string& host, uint16_t port, SocketAddress& out);
  // Replaces the port of `address`.
  static void set_port(SocketAddress& address, uint16_t port);
  // The local side of a bound socket.
  static SocketAddress local_of(int fd);

  // The address without the port, as text ("127.0.0.1", "::1"); for X-Forwarded-For.
  // Writes at most `capacity` bytes to `out` and returns the length.
  size_t format_host(char* out, size_t capacity) const;
};

// The raw bytes of an IPv4 or IPv6 address without its port (4 or 16 bytes; empty for any
// other family): what ip-hash keys on, so that one client maps to one backend.
inline std::string_view host_bytes(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return {reinterpret_cast<const char*>(&v4->sin_addr), sizeof(v4->sin_addr)};
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    return {reinterpret_cast<const char*>(&v6->sin6_addr), sizeof(v6->sin6_addr)};
  }
  return {};
}

}  // namespace lb::net
