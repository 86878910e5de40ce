#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/listener.h"
#include "net/socket_address.h"
#include "tests/test_framework.h"

namespace {

using lb::net::Listener;

struct Connected {
  Listener listener;
  lb::reactor::UniqueFd client;
};

// A listener on a free loopback port and a client connected to it (loopback completes
// the handshake inside connect()).
Connected connect_to_new_listener(bool request_response) {
  Connected out;
  lb::net::SocketAddress address;
  if (!lb::net::SocketAddress::parse("127.0.0.1", 0, address)) return out;
  lb::net::ListenError error;
  out.listener = Listener::open(address, 16, request_response, error);
  if (!out.listener.valid()) return out;
  lb::net::SocketAddress::set_port(address, out.listener.bound_port());
  out.client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(out.client.get(), address.get(), address.length) != 0) out.client.reset();
  return out;
}

Listener::AcceptStatus accept_now(Listener& listener, lb::reactor::UniqueFd& accepted) {
  sockaddr_storage peer{};
  int error_number = 0;
  return listener.accept_one(accepted, peer, error_number);
}

// Accepts, retrying for up to a second (the request's bytes are on their way).
bool accept_within_a_second(Listener& listener, lb::reactor::UniqueFd& accepted) {
  for (int i = 0; i < 1000; ++i) {
    if (accept_now(listener, accepted) == Listener::AcceptStatus::accepted) return true;
    ::usleep(1000);
  }
  return false;
}

int tcp_option(int fd, int name) {
  int value = -1;
  socklen_t length = sizeof(value);
  if (::getsockopt(fd, IPPROTO_TCP, name, &value, &length) != 0) return -1;
  return value;
}

}  // namespace

TEST(http_listener_accepts_once_the_request_arrives) {
  Connected c = connect_to_new_listener(true);
  CHECK(c.client.valid());
  lb::reactor::UniqueFd accepted;
  // Connected, nothing sent: nothing to accept yet.
  CHECK(accept_now(c.listener, accepted) == Listener::AcceptStatus::would_block);
  CHECK_EQ(::write(c.client.get(), "GET", 3), ssize_t{3});
  CHECK(accept_within_a_second(c.listener, accepted));
  char bytes[8];
  CHECK_EQ(::read(accepted.get(), bytes, sizeof(bytes)), ssize_t{3});
  // The accepted socket inherited the delayed ACK: the request's ACK waits for the reply.
  CHECK_EQ(tcp_option(accepted.get(), TCP_QUICKACK), 0);
}

TEST(tcp_relay_listener_accepts_at_once_and_acks_at_once) {
  // A relayed protocol may have the server speak first.
  Connected c = connect_to_new_listener(false);
  CHECK(c.client.valid());
  lb::reactor::UniqueFd accepted;
  CHECK(accept_within_a_second(c.listener, accepted));
  CHECK_EQ(tcp_option(accepted.get(), TCP_QUICKACK), 1);
  CHECK_EQ(tcp_option(c.listener.fd(), TCP_DEFER_ACCEPT), 0);
}
