// Reads and writes on established TLS streams: gathered iovecs and large bodies arrive
// intact, a write retried after would_block, the edge-triggered rule for short reads, a
// close without close_notify, a write to a closed peer without SIGPIPE, and the bytes an
// idle connection keeps.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <malloc.h>

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime (GCC installs no header declaring it).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

#include <csignal>
#include <cstdio>
#include <string>

#include "tests/test_framework.h"
#include "tests/tls_test_support.h"
#include "tls/tls_stream.h"

namespace {

using namespace lb::tls;
using namespace lb::tls_testing;

struct Established {
  SocketPair sockets;
  std::unique_ptr<TlsStream> server;
  std::unique_ptr<TlsStream> client;
};

std::unique_ptr<Established> establish(std::shared_ptr<const TlsServerContext> context = nullptr,
                                       const TicketKeyRing* ring = nullptr) {
  if (!context) context = server_context({&fixtures().example_ecdsa});
  auto out = std::make_unique<Established>();
  out->server = TlsStream::accept(context, out->sockets.server, ring);
  std::string error;
  out->client =
      TlsStream::connect(client_context_trusting(fixtures().ca), out->sockets.client, "example.com", nullptr, error);
  CHECK(drive(*out->server, step_of(*out->client)) == Outcome::both_done);
  return out;
}

std::string pattern(size_t length, unsigned seed) {
  std::string out(length, '\0');
  for (size_t i = 0; i < length; ++i) out[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return out;
}

// Reads whatever the stream has until it would block.
std::string drain(TlsStream& stream) {
  std::string out;
  char buffer[16384];
  for (;;) {
    TlsIoResult got = stream.read(buffer, sizeof(buffer));
    if (got.status != TlsIoStatus::progress) return out;
    out.append(buffer, got.bytes);
  }
}

// Heap bytes in use, from the allocator's own statistics (ASan's or glibc's): no
// OpenSSL malloc hooks involved.
size_t heap_bytes_in_use() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

// The heap bytes each idle server connection keeps after a handshake and one exchange:
// the client halves are freed before measuring, so only the server side counts.
size_t idle_server_bytes(const std::shared_ptr<const TlsServerContext>& context, const TicketKeyRing* ring,
                         size_t connections) {
  establish(context, ring);  // warm-up: OpenSSL's lazily made per-thread and global state
  std::vector<std::unique_ptr<Established>> idle;
  idle.reserve(connections);
  size_t before = heap_bytes_in_use();
  for (size_t i = 0; i < connections; ++i) {
    auto connection = establish(context, ring);
    CHECK_EQ(transfer(*connection->client, *connection->server, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n").size(),
             size_t{37});
    CHECK_EQ(transfer(*connection->server, *connection->client, "HTTP/1.1 204 No Content\r\n\r\n").size(), size_t{27});
    drain(*connection->server);  // idle: everything read, everything written
    connection->client.reset();
    idle.push_back(std::move(connection));
  }
  size_t after = heap_bytes_in_use();
  // The vector of pointers and the test's own Established wrappers are not TLS state.
  size_t bookkeeping = connections * sizeof(Established);
  return (after - before - bookkeeping) / connections;
}

}  // namespace

TEST(tls_write_gathers_iovecs_and_large_bodies_arrive_intact) {
  auto c = establish();
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100010\r\n\r\n";
  std::string body = pattern(100000, 3);
  std::string tail = "0123456789";
  std::string expected = head + body + tail;
  iovec parts[] = {{head.data(), head.size()}, {body.data(), body.size()}, {tail.data(), tail.size()}};
  size_t sent = 0;
  std::string received;
  for (int i = 0; i < 5000 && received.size() < expected.size(); ++i) {
    if (sent < expected.size()) {
      // Rebuild the iovecs past what was sent, as a caller dropping written bytes does.
      iovec rest[3];
      int count = 0;
      size_t skip = sent;
      for (const iovec& part : parts) {
        if (skip >= part.iov_len) {
          skip -= part.iov_len;
          continue;
        }
        rest[count++] = {static_cast<char*>(part.iov_base) + skip, part.iov_len - skip};
        skip = 0;
      }
      TlsIoResult wrote = c->server->write(rest, count);
      CHECK(wrote.status != TlsIoStatus::failed);
      if (wrote.status == TlsIoStatus::progress) sent += wrote.bytes;
    }
    received += drain(*c->client);
    ::poll(nullptr, 0, 1);
  }
  CHECK(received == expected);
}

TEST(tls_write_after_would_block_retries_with_the_same_bytes_and_more) {
  auto c = establish();
  int small = 4096;
  ::setsockopt(c->sockets.server, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  std::string first = pattern(300000, 1);
  iovec part{first.data(), first.size()};
  size_t sent = 0;
  TlsIoResult wrote{TlsIoStatus::progress};
  // Fill the socket until the stream would block, the client not reading.
  for (int i = 0; i < 1000 && wrote.status == TlsIoStatus::progress && sent < first.size(); ++i) {
    iovec rest{first.data() + sent, first.size() - sent};
    wrote = c->server->write(&rest, 1);
    if (wrote.status == TlsIoStatus::progress) sent += wrote.bytes;
  }
  CHECK(wrote.status == TlsIoStatus::would_block);
  CHECK(wrote.wait_for == WaitFor::writable);
  CHECK(sent < first.size());
  (void)part;
  // Retry with the unsent bytes split differently and more appended: the pending record
  // goes first, then the rest.
  std::string second = pattern(5000, 2);
  std::string expected = first + second;
  std::string received;
  for (int i = 0; i < 5000 && received.size() < expected.size(); ++i) {
    received += drain(*c->client);
    if (sent < expected.size()) {
      iovec rest[3];
      int count = 0;
      if (sent < first.size()) {
        size_t left = first.size() - sent;
        size_t half = left / 2;
        if (half > 0) rest[count++] = {first.data() + sent, half};
        rest[count++] = {first.data() + sent + half, left - half};
        rest[count++] = {second.data(), second.size()};
      } else {
        rest[count++] = {second.data() + (sent - first.size()), expected.size() - sent};
      }
      TlsIoResult again = c->server->write(rest, count);
      CHECK(again.status != TlsIoStatus::failed);
      if (again.status == TlsIoStatus::progress) sent += again.bytes;
    }
    ::poll(nullptr, 0, 1);
  }
  CHECK_EQ(received.size(), expected.size());
  CHECK(received == expected);
}

TEST(tls_short_read_can_leave_bytes_inside_openssl_with_no_socket_event_to_come) {
  auto c = establish();
  std::string record = pattern(10000, 5);
  iovec part{record.data(), record.size()};
  CHECK(c->server->write(&part, 1).status == TlsIoStatus::progress);
  char small[100];
  TlsIoResult got{TlsIoStatus::would_block};
  for (int i = 0; i < 1000 && got.status == TlsIoStatus::would_block; ++i) {
    got = c->client->read(small, sizeof(small));
    if (got.status == TlsIoStatus::would_block) ::poll(nullptr, 0, 1);
  }
  CHECK(got.status == TlsIoStatus::progress);
  CHECK_EQ(got.bytes, sizeof(small));
  // The socket is empty (epoll would not wake the caller), yet bytes are waiting.
  char probe;
  CHECK_EQ(::recv(c->sockets.client, &probe, 1, MSG_PEEK | MSG_DONTWAIT), ssize_t{-1});
  CHECK(c->client->has_buffered_input());
  std::string rest = drain(*c->client);
  CHECK_EQ(rest.size(), record.size() - sizeof(small));
  CHECK(!c->client->has_buffered_input());
}

TEST(tls_peer_closing_without_close_notify_reads_as_unclean_eof) {
  auto c = establish();
  // One exchange first: a TLS 1.3 server sends its session tickets on its first read, and
  // a peer gone before that makes the read fail with EPIPE instead.
  CHECK_EQ(transfer(*c->client, *c->server, "ping"), std::string("ping"));
  c->client.reset();
  c->sockets.close_client();
  char buffer[64];
  TlsIoResult got = c->server->read(buffer, sizeof(buffer));
  CHECK(got.status == TlsIoStatus::eof);
  CHECK(!c->server->peer_sent_close_notify());
  // After a fatal end nothing more is sent, not even close_notify.
  CHECK(c->server->shutdown() == ShutdownStatus::done);
}

TEST(tls_write_to_a_closed_peer_fails_without_sigpipe) {
  auto previous = std::signal(SIGPIPE, SIG_DFL);  // a SIGPIPE would end the test binary
  auto c = establish();
  c->client.reset();
  c->sockets.close_client();
  std::string body = pattern(1000, 9);
  iovec part{body.data(), body.size()};
  TlsIoResult wrote = c->server->write(&part, 1);
  CHECK(wrote.status == TlsIoStatus::failed);
  CHECK(wrote.error == EPIPE || wrote.error == ECONNRESET);
  std::signal(SIGPIPE, previous);
}

TEST(tls_idle_connection_keeps_no_openssl_record_buffers) {
  TicketKeyRing ring;
  std::string error;
  TicketKey key;
  TicketKey::generate(key);
  TicketKeyRing::from_keys({key}, ring, error);
  constexpr size_t connections = 100;
  size_t released = idle_server_bytes(server_context({&fixtures().example_ecdsa}), &ring, connections);
  // The same with OpenSSL keeping its buffers, to show what the release mode saves.
  auto keeping_context = server_context({&fixtures().example_ecdsa});
  SSL_CTX_clear_mode(keeping_context->default_context(), SSL_MODE_RELEASE_BUFFERS);
  size_t kept = idle_server_bytes(keeping_context, &ring, connections);
  std::printf("  idle TLS 1.3 server connection: %zu bytes with released buffers, %zu keeping them\n", released, kept);
  CHECK(released < 16 * 1024);
  CHECK(kept > released + 24 * 1024);  // a read and a write buffer of ~16.7 KiB each
}
