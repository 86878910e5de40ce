#include "net/listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "net/socket_options.h"

namespace lb::net {

Listener Listener::open(const SocketAddress& address, int backlog, bool request_response, ListenError& error) {
  Listener listener;
  auto fail = [&](const char* syscall) {
    error.error_number = errno;
    error.syscall = syscall;
    error.message =
        errno == EADDRINUSE ? std::string("address in use") : std::string(syscall) + ": " + std::strerror(errno);
    return std::move(listener);
  };
  reactor::UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail("socket");
  set_reuse_address(fd.get());
  set_reuse_port(fd.get());
  // Accepted sockets inherit TCP_NODELAY from the listener: one call here instead of
  // one per connection.
  set_no_delay(fd.get());
  if (address.family() == AF_INET6) set_ipv6_only(fd.get(), true);
  if (::bind(fd.get(), address.get(), address.length) != 0) return fail("bind");
  if (::listen(fd.get(), backlog > 0 ? backlog : system_somaxconn()) != 0) return fail("listen");
  if (request_response) {
    // A client that has sent nothing after 1 s (one SYN-ACK retransmission) is accepted
    // anyway, and then the head timeout applies.
    set_defer_accept(fd.get(), kDeferAcceptSeconds);
    listener.defers_accept_ = true;
    // Accepted sockets inherit it; new connections would otherwise ACK at once.
    set_quick_ack(fd.get(), false);
  }
  listener.fd_ = std::move(fd);
  listener.reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return listener;
}

uint16_t Listener::bound_port() const { return SocketAddress::local_of(fd_.get()).port(); }

Listener::AcceptStatus Listener::accept_one(reactor::UniqueFd& out, sockaddr_storage& peer, int& error_number) {
  // accept4 fills in the peer address, which saves a getpeername per connection.
  socklen_t peer_length = sizeof(peer);
  int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_length, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    out.reset(fd);
    return AcceptStatus::accepted;
  }
  error_number = errno;
  switch (errno) {
    case EAGAIN: return AcceptStatus::would_block;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM: return AcceptStatus::out_of_fds;
    default:
      // ECONNABORTED, EPROTO, EPERM...: that one connection failed; keep accepting.
      return AcceptStatus::failed;
  }
}

bool Listener::shed_one() {
  if (!reserve_fd_) return false;
  reserve_fd_.reset();
  int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return fd >= 0;
}

int system_somaxconn() {
  int value = 4096;
  if (FILE* file = std::fopen("/proc/sys/net/core/somaxconn", "re")) {
    if (std::fscanf(file, "%d", &value) != 1) value = 4096;
    std::fclose(file);
  }
  return value > 0 ? value : 4096;
}

}  // namespace lb::net
