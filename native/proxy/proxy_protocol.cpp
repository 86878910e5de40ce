#include "proxy/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

namespace lb::proxy {

namespace {

size_t write_v1(const sockaddr_storage& client, const sockaddr_storage& local, char* out, size_t capacity) {
  char source[INET6_ADDRSTRLEN];
  char destination[INET6_ADDRSTRLEN];
  unsigned source_port;
  unsigned destination_port;
  const char* family;
  if (client.ss_family == AF_INET) {
    auto& c = reinterpret_cast<const sockaddr_in&>(client);
    auto& l = reinterpret_cast<const sockaddr_in&>(local);
    inet_ntop(AF_INET, &c.sin_addr, source, sizeof(source));
    inet_ntop(AF_INET, &l.sin_addr, destination, sizeof(destination));
    source_port = ntohs(c.sin_port);
    destination_port = ntohs(l.sin_port);
    family = "TCP4";
  } else {
    auto& c = reinterpret_cast<const sockaddr_in6&>(client);
    auto& l = reinterpret_cast<const sockaddr_in6&>(local);
    inet_ntop(AF_INET6, &c.sin6_addr, source, sizeof(source));
    inet_ntop(AF_INET6, &l.sin6_addr, destination, sizeof(destination));
    source_port = ntohs(c.sin6_port);
    destination_port = ntohs(l.sin6_port);
    family = "TCP6";
  }
  int n = std::snprintf(out, capacity, "PROXY %s %s %s %u %u\r\n", family, source, destination, source_port,
                        destination_port);
  return n > 0 && static_cast<size_t>(n) < capacity ? static_cast<size_t>(n) : 0;
}

size_t write_v2(const sockaddr_storage& client, const sockaddr_storage& local, char* out, size_t capacity) {
  static constexpr unsigned char kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  bool v4 = client.ss_family == AF_INET;
  size_t address_bytes = v4 ? 12 : 36;
  size_t total = 16 + address_bytes;
  if (capacity < total) return 0;
  std::memcpy(out, kSignature, sizeof(kSignature));
  out[12] = 0x21;                                   // version 2, command PROXY
  out[13] = v4 ? 0x11 : 0x21;                       // TCP over IPv4 / IPv6
  out[14] = static_cast<char>(address_bytes >> 8);  // length, big-endian
  out[15] = static_cast<char>(address_bytes & 0xff);
  char* p = out + 16;
  if (v4) {
    auto& c = reinterpret_cast<const sockaddr_in&>(client);
    auto& l = reinterpret_cast<const sockaddr_in&>(local);
    std::memcpy(p, &c.sin_addr, 4);
    std::memcpy(p + 4, &l.sin_addr, 4);
    std::memcpy(p + 8, &c.sin_port, 2);  // already in network order
    std::memcpy(p + 10, &l.sin_port, 2);
  } else {
    auto& c = reinterpret_cast<const sockaddr_in6&>(client);
    auto& l = reinterpret_cast<const sockaddr_in6&>(local);
    std::memcpy(p, &c.sin6_addr, 16);
    std::memcpy(p + 16, &l.sin6_addr, 16);
    std::memcpy(p + 32, &c.sin6_port, 2);
    std::memcpy(p + 34, &l.sin6_port, 2);
  }
  return total;
}

}  // namespace

size_t write_proxy_header(ProxyProtocol version, const sockaddr_storage& client, const sockaddr_storage& local,
                          char* out, size_t capacity) {
  if (client.ss_family != local.ss_family) return 0;
  if (client.ss_family != AF_INET && client.ss_family != AF_INET6) return 0;
  switch (version) {
    case ProxyProtocol::none: return 0;
    case ProxyProtocol::v1: return write_v1(client, local, out, capacity);
    case ProxyProtocol::v2: return write_v2(client, local, out, capacity);
  }
  return 0;
}

}  // namespace lb::proxy
