// The PROXY protocol header (v1 text, v2 binary) that tells a backend in TCP mode who
// the real client is, since the backend only sees the balancer's address.
#pragma once

#include <sys/socket.h>

#include <cstddef>

#include "proxy/proxy_config.h"

namespace lb::proxy {

// Largest header either version writes for TCP over IPv4 or IPv6.
inline constexpr size_t kMaxProxyHeader = 108;

// Writes the header for a connection from `client` to `local` (the balancer's side).
// Returns its length, or 0 if the addresses are not IPv4/IPv6 of the same family.
size_t write_proxy_header(ProxyProtocol version, const sockaddr_storage& client, const sockaddr_storage& local,
                          char* out, size_t capacity);

}  // namespace lb::proxy
