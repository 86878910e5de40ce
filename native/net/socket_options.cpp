#include "net/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace lb::net {

namespace {
bool set_int(int fd, int level, int name, int value) { return setsockopt(fd, level, name, &value, sizeof(value)) == 0; }
}  // namespace

bool set_no_delay(int fd) { return set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1); }
bool set_quick_ack(int fd, bool on) { return set_int(fd, IPPROTO_TCP, TCP_QUICKACK, on ? 1 : 0); }
bool set_defer_accept(int fd, int seconds) { return set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, seconds); }
bool set_reuse_port(int fd) { return set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1); }
bool set_reuse_address(int fd) { return set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1); }
bool set_ipv6_only(int fd, bool only) { return set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, only ? 1 : 0); }

bool set_keep_alive(int fd, const TcpKeepAlive& settings) {
  return set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1) &&
         set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(settings.idle_sec)) &&
         set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(settings.interval_sec)) &&
         set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, static_cast<int>(settings.count));
}

int pending_error(int fd) {
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return -1;
  return error;
}

}  // namespace lb::net
