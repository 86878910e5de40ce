// libFuzzer target: a TLS listener's client side as a client meets it. The input is what a
// client sends on a fresh connection; it reaches a ClientTransport (native/proxy) over a
// socketpair, which runs the first-bytes check (TLS record / plain HTTP / other) and then
// OpenSSL's server handshake, as ClientConnection's handshaking state does.
//
// Delivery: 1 byte, then 7, then 64, then the rest, with handshake steps in between (so
// the first-bytes check and the record layer see partial input), then the client's FIN.
// The server's own flight is read off the client end and dropped.
//
// Invariants:
// - handshake() only ever says done, want_read, want_write or failed; after the FIN it
//   must have ended (no client completes a handshake from fuzz bytes, so: failed, with a
//   failure kind), and a failed stream stays failed: handshake() failed again, read() and
//   write() never report progress.
// - A plain HTTP request on the TLS port loses nothing: after fall_back_to_plain() the
//   plain reads return exactly the bytes the client sent.
// - No crash, leak or sanitizer report.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz/tls_fuzz_support.h"
#include "proxy/client_transport.h"

namespace {

using lb::fuzzing::Listener;
using lb::fuzzing::listener;
using lb::fuzzing::SocketPair;

// Bytes beyond this would only fill the socket buffer; the record layer has seen enough.
constexpr size_t max_input = 64 * 1024;

// Writes all of `bytes` from the client end (the socket buffer holds max_input).
void send_from_client(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    FUZZ_CHECK(n > 0);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Drops whatever the server sent (its handshake flight or alert), so it never blocks.
void drain_client(int fd) {
  char sink[4096];
  while (::read(fd, sink, sizeof(sink)) > 0) {
  }
}

// A failed stream stays failed and never reports progress.
void check_failed_stays_failed(lb::proxy::ClientTransport& transport) {
  FUZZ_CHECK(transport.tls()->failure() != lb::tls::HandshakeFailure::none);
  FUZZ_CHECK(transport.handshake() == lb::tls::HandshakeStatus::failed);
  char into[64];
  FUZZ_CHECK(transport.read(into, sizeof(into)).status == lb::proxy::IoStatus::failed);
  iovec part{const_cast<char*>("x"), 1};
  FUZZ_CHECK(transport.write(&part, 1).status == lb::proxy::IoStatus::failed);
}

// Steps the handshake until it needs more input than there is, or ends.
lb::tls::HandshakeStatus step(lb::proxy::ClientTransport& transport, int client_fd) {
  for (int round = 0; round < 64; ++round) {
    lb::tls::HandshakeStatus status = transport.handshake();
    drain_client(client_fd);
    switch (status) {
      case lb::tls::HandshakeStatus::want_write: continue;  // the drain made room
      case lb::tls::HandshakeStatus::want_read:
        // The first-bytes check says want_read once it saw a TLS record: go straight on.
        // Otherwise, only more input helps; is any waiting?
        {
          char probe;
          ssize_t n = ::recv(transport.fd(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return status;
        }
        continue;
      case lb::tls::HandshakeStatus::done:
      case lb::tls::HandshakeStatus::failed: return status;
    }
    FUZZ_CHECK(!"handshake() returned no HandshakeStatus");
  }
  return transport.handshake();
}

// The plain-HTTP answer path: the TLS stream is given up and the bytes are read in plain
// text, all of them, none lost to the first-bytes check.
void read_plain(lb::proxy::ClientTransport& transport, int client_fd, std::string_view input, size_t delivered) {
  transport.fall_back_to_plain();
  FUZZ_CHECK(!transport.is_tls());
  send_from_client(client_fd, input.substr(delivered));
  ::shutdown(client_fd, SHUT_WR);
  std::string got;
  char chunk[4096];
  for (;;) {
    lb::proxy::IoResult io = transport.read(chunk, sizeof(chunk));
    if (io.status == lb::proxy::IoStatus::progress) {
      got.append(chunk, io.bytes);
      continue;
    }
    FUZZ_CHECK(io.status == lb::proxy::IoStatus::eof);
    break;
  }
  FUZZ_CHECK(got == input);
}

// An established stream (not expected from fuzz bytes, but defined): read to the end;
// after a failure, no progress.
void read_established(lb::proxy::ClientTransport& transport) {
  char chunk[4096];
  bool failed = false;
  for (int round = 0; round < 1024; ++round) {
    lb::proxy::IoResult io = transport.read(chunk, sizeof(chunk));
    if (failed) FUZZ_CHECK(io.status != lb::proxy::IoStatus::progress);
    if (io.status == lb::proxy::IoStatus::progress) continue;
    if (io.status == lb::proxy::IoStatus::failed) {
      failed = true;
      continue;
    }
    return;  // eof or would_block
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > max_input) return -1;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const Listener& tls = listener();

  SocketPair sockets;
  int buffer = static_cast<int>(2 * max_input);
  ::setsockopt(sockets.client, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  ::setsockopt(sockets.server, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  lb::proxy::ClientTransport transport(sockets.server);
  FUZZ_CHECK(transport.start_tls(tls.context, &tls.ring));

  // The first-bytes check runs before any byte arrived: nothing to say yet.
  FUZZ_CHECK(transport.handshake() == lb::tls::HandshakeStatus::want_read);
  FUZZ_CHECK(transport.tls()->failure() == lb::tls::HandshakeFailure::none);

  constexpr size_t pieces[] = {1, 7, 64};
  size_t delivered = 0;
  lb::tls::HandshakeStatus status = lb::tls::HandshakeStatus::want_read;
  for (size_t piece : pieces) {
    if (delivered == size) break;
    size_t length = std::min(piece, size - delivered);
    send_from_client(sockets.client, input.substr(delivered, length));
    delivered += length;
    status = step(transport, sockets.client);
    if (status != lb::tls::HandshakeStatus::want_read) break;
  }
  if (status == lb::tls::HandshakeStatus::want_read) {
    send_from_client(sockets.client, input.substr(delivered));
    delivered = size;
    status = step(transport, sockets.client);
  }
  if (status == lb::tls::HandshakeStatus::want_read) {
    // The client leaves: every handshake must end now.
    ::shutdown(sockets.client, SHUT_WR);
    status = step(transport, sockets.client);
    FUZZ_CHECK(status == lb::tls::HandshakeStatus::failed);
  }

  if (status == lb::tls::HandshakeStatus::done) {
    FUZZ_CHECK(transport.tls()->established());
    read_established(transport);
  } else {
    FUZZ_CHECK(status == lb::tls::HandshakeStatus::failed);
    FUZZ_CHECK(!transport.tls()->established());
    lb::tls::HandshakeFailure failure = transport.tls()->failure();
    check_failed_stays_failed(transport);
    // The first-bytes check and OpenSSL agree on what a plain request is.
    bool looks_http = input[0] >= 'A' && input[0] <= 'Z';
    if (failure == lb::tls::HandshakeFailure::http_request) {
      read_plain(transport, sockets.client, input, delivered);
    } else if (looks_http) {
      FUZZ_CHECK(failure == lb::tls::HandshakeFailure::not_tls);
    }
  }
  transport.close_notify();
  transport.release();
  return 0;
}
