// The socket options lb-native sets, in one place, each with the reason it is set.
#pragma once

#include <cstdint>

namespace lb::net {

struct TcpKeepAlive {
  uint32_t idle_sec = 30;
  uint32_t interval_sec = 10;
  uint32_t count = 3;
};

// Small request/response writes must leave at once, not wait for Nagle's algorithm.
bool set_no_delay(int fd);
// Off on a listener: accepted sockets delay the ACK of what they receive so that it can
// ride on the reply instead of going out as a packet of its own.
bool set_quick_ack(int fd, bool on);
// On a listener: wake accept only when data arrives, or after `seconds` without any.
bool set_defer_accept(int fd, int seconds);
// Lets every worker bind its own listener on the same address; the kernel spreads new
// connections across them, so workers never share an accept queue or a lock.
bool set_reuse_port(int fd);
bool set_reuse_address(int fd);
// Pooled backend connections can sit idle behind NATs and firewalls that forget idle
// flows; keepalive probes find dead peers before a request is sent on them.
bool set_keep_alive(int fd, const TcpKeepAlive& settings);
bool set_ipv6_only(int fd, bool only);
// Pending socket error (SO_ERROR), e.g. the outcome of a non-blocking connect.
int pending_error(int fd);

}  // namespace lb::net
