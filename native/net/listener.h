// A listening socket. Each worker owns one, bound with SO_REUSEPORT to the same address.
#pragma once

#include <string>

#include "net/socket_address.h"
#include "reactor/unique_fd.h"

namespace lb::net {

// Why a listener could not be opened: a message, and the errno and system call behind it.
struct ListenError {
  std::string message;
  int error_number = 0;
  const char* syscall = "";
};

class Listener {
 public:
  // Creates, binds and listens. On failure returns an invalid listener and fills `error`.
  // `request_response`: the protocol is HTTP-like, clients speak first and every request
  // gets a reply. Then a connection is handed to accept only once its first bytes have
  // arrived (a connect-only client costs no wakeup, and the first read finds the request),
  // and the ACK of a request waits for the reply and travels with it.
  static Listener open(const SocketAddress& address, int backlog, bool request_response, ListenError& error);

  // How long a request_response listener holds a connection that has sent nothing yet:
  // after that (one SYN-ACK retransmission) it is accepted anyway.
  static constexpr int kDeferAcceptSeconds = 1;

  bool valid() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  uint16_t bound_port() const;
  void close() { fd_.reset(); }
  // Connections that completed their handshake but sent nothing yet are held by the
  // kernel outside the accept queue (see open), for up to kDeferAcceptSeconds.
  bool defers_accept() const { return defers_accept_; }

  enum class AcceptStatus { accepted, would_block, out_of_fds, failed };
  // Accepts one connection as a non-blocking, close-on-exec socket, with its peer address.
  AcceptStatus accept_one(reactor::UniqueFd& out, sockaddr_storage& peer, int& error_number);

  // EMFILE/ENFILE leave the connection in the queue and the listener readable forever;
  // closing a reserved fd lets us accept it and close it at once (shedding the
  // connection) instead of spinning.
  bool shed_one();

 private:
  reactor::UniqueFd fd_;
  reactor::UniqueFd reserve_fd_;
  bool defers_accept_ = false;
};

// The kernel's accept queue ceiling (net.core.somaxconn), the default backlog.
int system_somaxconn();

}  // namespace lb::net
