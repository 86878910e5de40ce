// libFuzzer target: a client connection's transport (native/proxy/client_transport.h) once
// TLS is up. A real OpenSSL client completes the handshake with the server side over a
// socketpair; then the input's first byte chooses what the client sends:
// - even: the rest as application data, sealed by the client (in records of the sizes
//   OpenSSL picks), then close_notify or a bare FIN (bit 1);
// - odd: the rest as raw bytes on the socket (forged records, which nobody can seal
//   without the keys), then a FIN.
// Invariants: sealed data arrives exactly, in order, and ends in eof; raw bytes never
// come out as data and end the stream in failed or eof; after failed, no read reports
// progress. No crash, leak or sanitizer report.
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/tls_fuzz_support.h"
#include "proxy/client_transport.h"

namespace {

using lb::proxy::IoStatus;

constexpr size_t max_input = 32 * 1024;

SSL_CTX* client_context() {
  static SSL_CTX* made = [] {
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    FUZZ_CHECK(context != nullptr);
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);  // the fuzzer trusts its own server
    return context;
  }();
  return made;
}

// Both ends step until both are done (a few rounds over a socketpair).
bool handshake(lb::proxy::ClientTransport& server, SSL* client) {
  bool server_done = false;
  bool client_done = false;
  for (int round = 0; round < 100 && !(server_done && client_done); ++round) {
    if (!client_done) {
      int result = SSL_do_handshake(client);
      if (result == 1) {
        client_done = true;
      } else {
        int error = SSL_get_error(client, result);
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return false;
      }
    }
    if (!server_done) {
      lb::tls::HandshakeStatus status = server.handshake();
      if (status == lb::tls::HandshakeStatus::failed) return false;
      server_done = status == lb::tls::HandshakeStatus::done;
    }
  }
  return server_done && client_done;
}

// Reads on the server side until would_block, eof or failed, collecting the data.
IoStatus read_all(lb::proxy::ClientTransport& server, std::string& got, bool& failed) {
  char chunk[1000];  // smaller than a record: short reads with bytes left inside OpenSSL
  for (int round = 0; round < 4096; ++round) {
    lb::proxy::IoResult io = server.read(chunk, sizeof(chunk));
    if (failed) FUZZ_CHECK(io.status != IoStatus::progress);
    if (io.status == IoStatus::progress) {
      FUZZ_CHECK(io.bytes > 0 && io.bytes <= sizeof(chunk));
      got.append(chunk, io.bytes);
      continue;
    }
    if (io.status == IoStatus::failed) {
      failed = true;
      continue;  // once more: it must stay failed
    }
    return io.status;
  }
  return failed ? IoStatus::failed : IoStatus::would_block;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > max_input) return -1;
  const uint8_t mode = data[0];
  std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  const lb::fuzzing::Listener& tls = lb::fuzzing::listener();

  lb::fuzzing::SocketPair sockets;
  lb::proxy::ClientTransport server(sockets.server);
  FUZZ_CHECK(server.start_tls(tls.context, &tls.ring));
  lb::tls::SslPtr client(SSL_new(client_context()));
  FUZZ_CHECK(client != nullptr);
  SSL_set_fd(client.get(), sockets.client);
  SSL_set_connect_state(client.get());
  SSL_set_tlsext_host_name(client.get(), "fuzz.test");
  FUZZ_CHECK(handshake(server, client.get()));
  FUZZ_CHECK(server.tls()->established());

  std::string got;
  bool failed = false;
  if ((mode & 1) == 0) {
    // Sealed application data, in pieces as the socket takes them.
    std::string_view rest = payload;
    while (!rest.empty()) {
      size_t written = 0;
      if (SSL_write_ex(client.get(), rest.data(), rest.size(), &written) == 1) {
        rest.remove_prefix(written);
        continue;
      }
      FUZZ_CHECK(SSL_get_error(client.get(), 0) == SSL_ERROR_WANT_WRITE);
      FUZZ_CHECK(read_all(server, got, failed) == IoStatus::would_block);  // make room
    }
    if (mode & 2) SSL_shutdown(client.get());
    ::shutdown(sockets.client, SHUT_WR);
    IoStatus end = read_all(server, got, failed);
    FUZZ_CHECK(!failed);
    FUZZ_CHECK(end == IoStatus::eof);
    FUZZ_CHECK(got == payload);
    FUZZ_CHECK(server.tls()->peer_sent_close_notify() == ((mode & 2) != 0));
  } else {
    // Forged records straight onto the socket.
    std::string_view rest = payload;
    while (!rest.empty()) {
      ssize_t n = ::write(sockets.client, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      FUZZ_CHECK(n > 0);  // max_input fits the socket buffer
      rest.remove_prefix(static_cast<size_t>(n));
    }
    ::shutdown(sockets.client, SHUT_WR);
    IoStatus end = read_all(server, got, failed);
    FUZZ_CHECK(got.empty());
    FUZZ_CHECK(end == IoStatus::eof || end == IoStatus::failed);
    if (failed) {
      char into[16];
      FUZZ_CHECK(server.read(into, sizeof(into)).status == IoStatus::failed);
    }
  }
  server.close_notify();
  server.release();
  return 0;
}
