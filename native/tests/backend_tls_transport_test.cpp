// The backend side of the transport seam (ClientTransport::start_tls_connect, as
// BackendConnection uses it) over real socket pairs against our own TLS server: the
// handshake and bytes through the seam, verification failures (another CA, another name)
// as handshake failures, resumption with the kept session, and the rule for an idle pooled
// TLS connection that turns readable (a late ticket keeps it; data or close_notify drop it).
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "proxy/backend_connection.h"
#include "proxy/client_transport.h"
#include "tests/test_framework.h"
#include "tests/tls_test_support.h"
#include "tls/ticket_keys.h"
#include "tls/tls_stream.h"

namespace {

using namespace lb::tls;
using namespace lb::tls_testing;
using lb::proxy::ClientTransport;
using lb::proxy::IoStatus;

TicketKeyRing ticket_ring() {
  TicketKey key;
  TicketKey::generate(key);
  TicketKeyRing ring;
  std::string error;
  TicketKeyRing::from_keys({key}, ring, error);
  return ring;
}

std::function<int()> step_of(ClientTransport& client) {
  return [&client] {
    HandshakeStatus status = client.handshake();
    if (status == HandshakeStatus::done) return 1;
    return status == HandshakeStatus::failed ? -1 : 0;
  };
}

// Reads from the client transport until `want` bytes arrived or a second passed.
std::string read_from(ClientTransport& client, size_t want) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  char buffer[256];
  while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
    lb::proxy::IoResult io = client.read(buffer, sizeof(buffer));
    if (io.status == IoStatus::progress) {
      out.append(buffer, io.bytes);
    } else if (io.status != IoStatus::would_block) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return out;
}

bool server_sends(TlsStream& server, std::string_view bytes) {
  iovec part{const_cast<char*>(bytes.data()), bytes.size()};
  TlsIoResult io = server.write(&part, 1);
  return io.status == TlsIoStatus::progress && io.bytes == bytes.size();
}

}  // namespace

TEST(backend_tls_transport_handshakes_verifies_and_moves_bytes_both_ways) {
  const Fixtures& f = fixtures();
  SocketPair sockets;
  TicketKeyRing ring = ticket_ring();
  auto server = TlsStream::accept(server_context({&f.example_ecdsa}), sockets.server, &ring);
  ClientTransport client(sockets.client);
  std::string error;
  CHECK(client.start_tls_connect(client_context_trusting(f.ca), "example.com", nullptr, error));
  CHECK(client.is_tls());
  CHECK(!client.short_read_drains());  // TLS: only would_block says the socket is drained
  CHECK(drive(*server, step_of(client)) == Outcome::both_done);
  CHECK(!client.tls()->resumed());
  CHECK_EQ(server->server_name(), std::string_view("example.com"));

  const char request[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
  iovec part{const_cast<char*>(request), std::strlen(request)};
  lb::proxy::IoResult sent = client.write(&part, 1);
  CHECK(sent.status == IoStatus::progress && sent.bytes == std::strlen(request));
  char received[128];
  size_t got = 0;
  for (int i = 0; i < 1000 && got < std::strlen(request); ++i) {
    TlsIoResult io = server->read(received + got, sizeof(received) - got);
    if (io.status == TlsIoStatus::progress) got += io.bytes;
    if (io.status == TlsIoStatus::would_block) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK_EQ(std::string(received, got), std::string(request));
  CHECK(server_sends(*server, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  CHECK_EQ(read_from(client, 38), std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
}

TEST(backend_tls_transport_certificate_from_another_ca_fails_the_handshake) {
  const Fixtures& f = fixtures();
  SocketPair sockets;
  auto server = TlsStream::accept(server_context({&f.example_ecdsa}), sockets.server, nullptr);
  ClientTransport client(sockets.client);
  std::string error;
  CHECK(client.start_tls_connect(client_context_trusting(f.other_ca), "example.com", nullptr, error));
  CHECK(drive(*server, step_of(client)) != Outcome::both_done);
  CHECK(client.handshake() == HandshakeStatus::failed);
  CHECK(client.tls()->failure() == HandshakeFailure::peer_certificate);
  CHECK_EQ(std::string(client.tls()->failure_reason()), std::string("unable to get local issuer certificate"));
}

TEST(backend_tls_transport_certificate_for_another_name_fails_the_handshake) {
  const Fixtures& f = fixtures();
  SocketPair sockets;
  auto server = TlsStream::accept(server_context({&f.example_ecdsa}), sockets.server, nullptr);
  ClientTransport client(sockets.client);
  std::string error;
  CHECK(client.start_tls_connect(client_context_trusting(f.ca), "other.example", nullptr, error));
  CHECK(drive(*server, step_of(client)) != Outcome::both_done);
  CHECK(client.tls()->failure() == HandshakeFailure::peer_certificate);
  CHECK_EQ(std::string(client.tls()->failure_reason()), std::string("hostname mismatch"));
}

TEST(backend_tls_transport_resumes_with_the_kept_session) {
  const Fixtures& f = fixtures();
  TicketKeyRing ring = ticket_ring();
  auto context = server_context({&f.example_ecdsa});
  auto client_context = client_context_trusting(f.ca);
  SslSessionPtr kept;
  {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, &ring);
    ClientTransport client(sockets.client);
    std::string error;
    CHECK(client.start_tls_connect(client_context, "example.com", nullptr, error));
    CHECK(drive(*server, step_of(client)) == Outcome::both_done);
    CHECK(server_sends(*server, "HTTP/1.1 204 No Content\r\n\r\n"));
    CHECK_EQ(read_from(client, 27), std::string("HTTP/1.1 204 No Content\r\n\r\n"));
    kept = client.tls()->resumable_session();  // the TLS 1.3 ticket came before the response
    CHECK(kept != nullptr);
  }
  SocketPair sockets;
  auto server = TlsStream::accept(context, sockets.server, &ring);
  ClientTransport client(sockets.client);
  std::string error;
  CHECK(client.start_tls_connect(client_context, "example.com", kept.get(), error));
  CHECK(drive(*server, step_of(client)) == Outcome::both_done);
  CHECK(client.tls()->resumed());
  CHECK(server->resumed());
}

TEST(backend_tls_idle_connection_keeps_a_late_ticket_and_drops_data_or_close_notify) {
  const Fixtures& f = fixtures();
  TicketKeyRing ring = ticket_ring();
  auto context = server_context({&f.example_ecdsa});
  {
    // Right after the handshake the server's tickets are in flight: reading them on the
    // idle connection leaves it usable, and yields the session.
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, &ring);
    ClientTransport client(sockets.client);
    std::string error;
    CHECK(client.start_tls_connect(client_context_trusting(f.ca), "example.com", nullptr, error));
    CHECK(drive(*server, step_of(client)) == Outcome::both_done);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(lb::proxy::idle_tls_input_is_harmless(client));
    CHECK(client.tls()->resumable_session() != nullptr);
    // Then bytes nobody asked for: the connection must go.
    CHECK(server_sends(*server, "HTTP/1.1 200 OK\r\n\r\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(!lb::proxy::idle_tls_input_is_harmless(client));
  }
  {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, &ring);
    ClientTransport client(sockets.client);
    std::string error;
    CHECK(client.start_tls_connect(client_context_trusting(f.ca), "example.com", nullptr, error));
    CHECK(drive(*server, step_of(client)) == Outcome::both_done);
    CHECK(server->shutdown() == ShutdownStatus::done);  // close_notify while pooled
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    bool harmless = true;
    // The tickets may come first; the close_notify behind them must still be seen.
    for (int i = 0; i < 3 && harmless; ++i) harmless = lb::proxy::idle_tls_input_is_harmless(client);
    CHECK(!harmless);
    CHECK(client.tls()->peer_sent_close_notify());
  }
}
