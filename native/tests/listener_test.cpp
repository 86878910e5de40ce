#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/listener.h"
#include "net/socket_address.h"
#include "tests/test_framework.h"

namespace {

// Opens a listener on a free loopback port, connects to it and returns the TCP_QUICKACK
// value the accepted socket starts with (-1 on failure).
int accepted_quick_ack(bool ack_with_reply) {
  lb::net::SocketAddress address;
  if (!lb::net::SocketAddress::parse("127.0.0.1", 0, address)) return -1;
  lb::net::ListenError error;
  lb::net::Listener listener = lb::net::Listener::open(address, 16, ack_with_reply, error);
  if (!listener.valid()) return -1;
  lb::net::SocketAddress::set_port(address, listener.bound_port());
  lb::core::UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(client.get(), address.get(), address.length) != 0) return -1;
  lb::core::UniqueFd accepted;
  sockaddr_storage peer{};
  int error_number = 0;
  for (int i = 0; i < 1000; ++i) {
    if (listener.accept_one(accepted, peer, error_number) == lb::net::Listener::AcceptStatus::accepted) break;
    ::usleep(1000);
  }
  if (!accepted) return -1;
  int value = -1;
  socklen_t length = sizeof(value);
  if (::getsockopt(accepted.get(), IPPROTO_TCP, TCP_QUICKACK, &value, &length) != 0) return -1;
  return value;
}

}  // namespace

TEST(listener_for_request_response_delays_the_first_ack) {
  // The accepted socket inherits the listener's setting: the request's ACK waits for the
  // response instead of going out alone.
  CHECK_EQ(accepted_quick_ack(true), 0);
}

TEST(listener_for_tcp_relay_keeps_quick_acks) {
  CHECK_EQ(accepted_quick_ack(false), 1);
}
