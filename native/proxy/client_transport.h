// The one seam for a client connection's socket I/O: a plain socket, or a TLS stream over
// it. Every read, write and write-side shutdown of the client socket goes through here,
// with the plain socket's outcome (IoResult) either way, so the connection's state machine
// does not care which it is.
//
// What TLS changes for an edge-triggered caller, and how it is hidden:
// - A TLS read may need the socket writable (OpenSSL sending a message of its own, e.g. a
//   TLS 1.3 session ticket) and a write may need it readable. The transport remembers
//   which direction a would_block waits for, and map_events() turns that edge into the
//   one the blocked operation was waiting on.
// - A short TLS read does not prove the socket drained (OpenSSL reads a record at a time
//   and may hold bytes that did not fit): short_read_drains() says whether the caller may
//   clear its readable flag after one.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/socket_io.h"
#include "tls/tls_stream.h"

namespace lb::proxy {

class ClientTransport {
 public:
  explicit ClientTransport(int fd) : fd_(fd) {}

  int fd() const { return fd_; }
  bool is_tls() const { return tls_ != nullptr; }
  tls::TlsStream* tls() const { return tls_.get(); }

  // Server side of a TLS connection on the socket; false when OpenSSL could not make one.
  bool start_tls(std::shared_ptr<const tls::TlsServerContext> context, const tls::TicketKeyRing* ring,
                 std::shared_ptr<const tls::AcmeAlpnChallenges> challenges = nullptr);
  // Client side of a TLS connection on the socket: the same seam serves backend sockets
  // (BackendConnection), so tunnels and relays speak to either end alike. False (and
  // `error`) when OpenSSL could not make one.
  bool start_tls_connect(std::shared_ptr<const tls::TlsClientContext> context, std::string_view server_name,
                         SSL_SESSION* session, std::string& error);
  // The TLS stream is given up and the socket is spoken to in plain text (the answer to a
  // plain HTTP request on a TLS port, whose bytes are still unread).
  void fall_back_to_plain() { tls_.reset(); }

  tls::HandshakeStatus handshake();
  IoResult read(char* into, size_t capacity);
  IoResult write(const iovec* parts, int count);
  // Ends our direction: close_notify (TLS, best effort, never waiting), then a FIN.
  void shutdown_write();
  // Before close(): a TLS connection says close_notify if it still can.
  void close_notify();
  // Frees the TLS stream (its memory goes before the socket closes).
  void release() { tls_.reset(); }

  // Bytes a TLS write left sealed in a pending record: the next write must offer them
  // again, unchanged (see TlsStream::pending_write_bytes); always 0 for a plain socket.
  size_t pending_write_bytes() const { return tls_ ? tls_->pending_write_bytes() : 0; }
  // After a short read (fewer bytes than asked for) the socket is drained: true for a
  // plain socket, never for TLS (only would_block says so).
  bool short_read_drains() const { return tls_ == nullptr; }
  // Adds the edge a blocked operation waits for when the other edge arrives (see above).
  uint32_t map_events(uint32_t events);

 private:
  int fd_;
  std::unique_ptr<tls::TlsStream> tls_;
  bool read_waits_for_writable_ = false;
  bool write_waits_for_readable_ = false;
};

}  // namespace lb::proxy
