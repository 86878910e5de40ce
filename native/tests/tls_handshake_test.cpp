// Server and client handshakes over real non-blocking socket pairs (and once over
// loopback TCP): SNI choice, RSA or ECDSA by the client's abilities, ALPN, what is not a
// ClientHello, a client that stops half way, mTLS, and a client refusing a server.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/test_framework.h"
#include "tests/tls_test_support.h"
#include "tls/tls_client_context.h"
#include "tls/tls_stream.h"

namespace {

using namespace lb::tls;
using namespace lb::tls_testing;

// The certificate a client asking for `server_name` ("" = no SNI) is shown.
std::string served_common_name(const std::shared_ptr<const TlsServerContext>& context, const std::string& server_name) {
  SocketPair sockets;
  auto server = TlsStream::accept(context, sockets.server, nullptr);
  RawClient client(sockets.client, {.server_name = server_name});
  Outcome outcome = drive(*server, step_of(client));
  if (outcome != Outcome::both_done) return std::string("(") + to_string(outcome) + ")";
  return client.peer_common_name();
}

// Runs a handshake whose client sends `bytes` instead of a ClientHello.
std::unique_ptr<TlsStream> server_after(const std::string& bytes, SocketPair& sockets) {
  auto server = TlsStream::accept(server_context({&fixtures().fallback}), sockets.server, nullptr);
  if (!bytes.empty()) CHECK_EQ(::write(sockets.client, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  return server;
}

HandshakeStatus handshake_within_a_second(TlsStream& server) {
  HandshakeStatus status = server.handshake();
  for (int i = 0; i < 1000 && status == HandshakeStatus::want_read; ++i) {
    ::poll(nullptr, 0, 1);
    status = server.handshake();
  }
  return status;
}

}  // namespace

TEST(tls_handshake_with_our_client_then_data_both_ways_and_close_notify) {
  const Fixtures& f = fixtures();
  SocketPair sockets;
  auto server = TlsStream::accept(server_context({&f.example_rsa, &f.example_ecdsa}), sockets.server, nullptr);
  std::string error;
  auto client = TlsStream::connect(client_context_trusting(f.ca), sockets.client, "www.example.com", nullptr, error);
  CHECK(client != nullptr);
  CHECK(drive(*server, step_of(*client)) == Outcome::both_done);
  CHECK(server->established() && client->established());
  CHECK_EQ(std::string(server->protocol()), std::string("TLSv1.3"));
  CHECK_EQ(server->server_name(), std::string_view("www.example.com"));
  CHECK_EQ(server->alpn(), std::string_view("http/1.1"));
  CHECK_EQ(client->alpn(), std::string_view("http/1.1"));
  CHECK(!server->resumed());
  CHECK(server->peer_subject().empty());  // no client certificate asked for
  CHECK(client->peer_subject().find("CN=example") == 0);
  CHECK_EQ(transfer(*client, *server, "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"));
  CHECK_EQ(transfer(*server, *client, "HTTP/1.1 204 No Content\r\n\r\n"),
           std::string("HTTP/1.1 204 No Content\r\n\r\n"));
  CHECK(server->shutdown() == ShutdownStatus::done);
  char buffer[64];
  TlsIoResult got{TlsIoStatus::would_block};
  for (int i = 0; i < 1000 && got.status == TlsIoStatus::would_block; ++i) {
    got = client->read(buffer, sizeof(buffer));
    if (got.status == TlsIoStatus::would_block) ::poll(nullptr, 0, 1);
  }
  CHECK(got.status == TlsIoStatus::eof);
  CHECK(client->peer_sent_close_notify());
}

TEST(tls_handshake_over_loopback_tcp) {
  const Fixtures& f = fixtures();
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  CHECK_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  CHECK_EQ(::listen(listener, 4), 0);
  CHECK_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  int client_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_EQ(::connect(client_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  int server_fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  CHECK(server_fd >= 0);
  CHECK_EQ(::fcntl(client_fd, F_SETFL, O_NONBLOCK), 0);
  auto server = TlsStream::accept(server_context({&f.address}), server_fd, nullptr);
  std::string error;
  // Verified against the IP address SAN: no SNI is sent for an address.
  auto client = TlsStream::connect(client_context_trusting(f.ca), client_fd, "127.0.0.1", nullptr, error);
  CHECK(drive(*server, step_of(*client)) == Outcome::both_done);
  CHECK(server->server_name().empty());
  CHECK_EQ(transfer(*client, *server, "ping"), std::string("ping"));
  ::close(client_fd);
  ::close(server_fd);
  ::close(listener);
}

TEST(tls_sni_picks_exact_then_wildcard_then_the_default) {
  const Fixtures& f = fixtures();
  auto context = server_context({&f.fallback, &f.example_ecdsa, &f.wildcard});
  CHECK_EQ(served_common_name(context, "www.example.com"), std::string("example ecdsa"));
  CHECK_EQ(served_common_name(context, "EXAMPLE.com"), std::string("example ecdsa"));
  CHECK_EQ(served_common_name(context, "api.wild.test"), std::string("wildcard"));
  CHECK_EQ(served_common_name(context, "deep.api.wild.test"), std::string("fallback"));
  CHECK_EQ(served_common_name(context, "wild.test"), std::string("fallback"));
  CHECK_EQ(served_common_name(context, "unknown.test"), std::string("fallback"));
  CHECK_EQ(served_common_name(context, ""), std::string("fallback"));
}

TEST(tls_rsa_or_ecdsa_certificate_by_what_the_client_can_verify) {
  const Fixtures& f = fixtures();
  auto context = server_context({&f.example_rsa, &f.example_ecdsa});
  struct Case {
    RawClientOptions options;
    int expected_key;
  };
  Case cases[] = {
      {{.server_name = "example.com", .sigalgs = "ECDSA+SHA256"}, EVP_PKEY_EC},
      {{.server_name = "example.com", .sigalgs = "rsa_pss_rsae_sha256:RSA+SHA256"}, EVP_PKEY_RSA},
      // TLS 1.2: the cipher suite's authentication decides.
      {{.server_name = "example.com", .tls12_ciphers = "ECDHE-RSA-AES128-GCM-SHA256", .max_version = TLS1_2_VERSION},
       EVP_PKEY_RSA},
      {{.server_name = "example.com", .tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256", .max_version = TLS1_2_VERSION},
       EVP_PKEY_EC},
      // No SNI: the default names' pair, so the choice still works.
      {{.sigalgs = "rsa_pss_rsae_sha256:RSA+SHA256"}, EVP_PKEY_RSA},
  };
  for (Case& c : cases) {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, nullptr);
    RawClient client(sockets.client, c.options);
    CHECK(drive(*server, step_of(client)) == Outcome::both_done);
    CHECK_EQ(client.peer_key_type(), c.expected_key);
  }
}

TEST(tls_alpn_follows_the_servers_preference_and_defaults_to_http1) {
  const Fixtures& f = fixtures();
  TlsServerSettings settings;
  settings.certificates = {pem_of(f.fallback)};
  settings.alpn_protocols = {"h2", "http/1.1"};
  auto context = server_context(settings);
  auto negotiated = [&](std::vector<std::string> offered) {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, nullptr);
    RawClient client(sockets.client, {.alpn = offered});
    Outcome outcome = drive(*server, step_of(client));
    if (outcome != Outcome::both_done) return std::string("(") + server->failure_reason() + ")";
    return std::string(server->alpn());
  };
  CHECK_EQ(negotiated({"http/1.1", "h2"}), std::string("h2"));
  CHECK_EQ(negotiated({"http/1.1"}), std::string("http/1.1"));
  CHECK_EQ(negotiated({}), std::string(""));  // no ALPN: the caller speaks HTTP/1.1
  CHECK_EQ(negotiated({"spdy/3"}), std::string("(no application protocol)"));
}

TEST(tls_plaintext_http_request_on_the_tls_port_is_its_own_failure) {
  SocketPair sockets;
  auto server = server_after("GET / HTTP/1.1\r\nHost: x\r\n\r\n", sockets);
  CHECK(handshake_within_a_second(*server) == HandshakeStatus::failed);
  CHECK(server->failure() == HandshakeFailure::http_request);
  CHECK_EQ(std::string(server->failure_reason()), std::string("http request on a TLS port"));
  // The request is still unread: the caller may look at it before answering 400.
  char peek[3];
  CHECK_EQ(::recv(sockets.server, peek, sizeof(peek), MSG_PEEK), ssize_t{3});
}

TEST(tls_garbage_instead_of_a_client_hello_fails_cleanly) {
  {
    SocketPair sockets;
    auto server = server_after("SSH-2.0-OpenSSH_9.2\r\n", sockets);
    CHECK(handshake_within_a_second(*server) == HandshakeStatus::failed);
    CHECK(server->failure() == HandshakeFailure::not_tls);
  }
  {
    // A handshake record type, then nonsense: OpenSSL's own reason.
    SocketPair sockets;
    auto server = server_after(std::string("\x16\x03\x01\x00\x05garbage", 12), sockets);
    CHECK(handshake_within_a_second(*server) == HandshakeStatus::failed);
    CHECK(server->failure() == HandshakeFailure::protocol);
    CHECK(std::string(server->failure_reason()).size() > 0);
  }
  {
    SocketPair sockets;
    auto server = server_after("", sockets);
    CHECK(server->handshake() == HandshakeStatus::want_read);
    sockets.close_client();
    CHECK(handshake_within_a_second(*server) == HandshakeStatus::failed);
    CHECK(server->failure() == HandshakeFailure::peer_closed);
  }
}

TEST(tls_client_that_stops_mid_handshake_leaves_the_server_waiting_to_read) {
  SocketPair sockets;
  auto server = TlsStream::accept(server_context({&fixtures().fallback}), sockets.server, nullptr);
  RawClient client(sockets.client, {});
  CHECK_EQ(client.handshake_step(), 0);  // the ClientHello is out
  // The server answers its flight, then waits for the client's Finished: want_read for as
  // long as the client stays silent (the caller's handshake timeout ends it).
  for (int i = 0; i < 50; ++i) {
    CHECK(server->handshake() == HandshakeStatus::want_read);
    ::poll(nullptr, 0, 2);
  }
  CHECK(!server->established());
  sockets.close_client();
  CHECK(handshake_within_a_second(*server) == HandshakeStatus::failed);
  CHECK(server->failure() == HandshakeFailure::peer_closed);
}

TEST(tls_mtls_required_accepts_a_verified_client_and_exposes_its_subject) {
  const Fixtures& f = fixtures();
  TlsServerSettings settings;
  settings.certificates = {pem_of(f.fallback)};
  settings.client_ca_pem = f.ca.cert_pem;
  settings.client_verify = ClientVerify::required;
  auto context = server_context(settings);

  SocketPair sockets;
  auto server = TlsStream::accept(context, sockets.server, nullptr);
  RawClient client(sockets.client, {.certificate = &f.client});
  CHECK(drive(*server, step_of(client)) == Outcome::both_done);
  CHECK_EQ(server->peer_subject(), std::string("CN=client,O=lb-native tests"));
}

TEST(tls_mtls_required_rejects_a_missing_or_foreign_client_certificate) {
  const Fixtures& f = fixtures();
  TlsServerSettings settings;
  settings.certificates = {pem_of(f.fallback)};
  settings.client_ca_pem = f.ca.cert_pem;
  settings.client_verify = ClientVerify::required;
  auto context = server_context(settings);
  {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, nullptr);
    RawClient client(sockets.client, {});
    drive(*server, step_of(client));
    CHECK(!server->established());
    CHECK(server->failure() == HandshakeFailure::peer_certificate);
    CHECK_EQ(std::string(server->failure_reason()), std::string("peer did not return a certificate"));
  }
  {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, nullptr);
    RawClient client(sockets.client, {.certificate = &f.stranger});
    drive(*server, step_of(client));
    CHECK(!server->established());
    CHECK(server->failure() == HandshakeFailure::peer_certificate);
    CHECK_EQ(std::string(server->failure_reason()), std::string("unable to get local issuer certificate"));
  }
}

TEST(tls_mtls_optional_lets_a_client_without_certificate_in) {
  const Fixtures& f = fixtures();
  TlsServerSettings settings;
  settings.certificates = {pem_of(f.fallback)};
  settings.client_ca_pem = f.ca.cert_pem;
  settings.client_verify = ClientVerify::optional;
  auto context = server_context(settings);
  SocketPair sockets;
  auto server = TlsStream::accept(context, sockets.server, nullptr);
  RawClient client(sockets.client, {});
  CHECK(drive(*server, step_of(client)) == Outcome::both_done);
  CHECK(server->peer_subject().empty());
}

TEST(tls_client_refuses_a_server_its_ca_did_not_sign) {
  const Fixtures& f = fixtures();
  SocketPair sockets;
  auto server = TlsStream::accept(server_context({&f.example_ecdsa}), sockets.server, nullptr);
  std::string error;
  auto client = TlsStream::connect(client_context_trusting(f.other_ca), sockets.client, "example.com", nullptr, error);
  CHECK(drive(*server, step_of(*client)) == Outcome::client_failed);
  CHECK(client->failure() == HandshakeFailure::peer_certificate);
  CHECK_EQ(std::string(client->failure_reason()), std::string("unable to get local issuer certificate"));
  // The server hears the client's alert.
  CHECK(handshake_within_a_second(*server) == HandshakeStatus::failed);
  CHECK(server->failure() == HandshakeFailure::alert_received);
  CHECK_EQ(std::string(server->failure_reason()), std::string("tlsv1 alert unknown ca"));
}

TEST(tls_client_refuses_a_certificate_for_another_name_or_address) {
  const Fixtures& f = fixtures();
  auto context = server_context({&f.example_ecdsa, &f.address});
  auto client_context = client_context_trusting(f.ca);
  struct Case {
    const char* name;
    const char* reason;
  };
  Case cases[] = {{"other.example.org", "hostname mismatch"},
                  {"sub.www.example.com", "hostname mismatch"},
                  {"127.0.0.2", "IP address mismatch"}};
  for (const Case& c : cases) {
    SocketPair sockets;
    auto server = TlsStream::accept(context, sockets.server, nullptr);
    std::string error;
    auto client = TlsStream::connect(client_context, sockets.client, c.name, nullptr, error);
    CHECK(drive(*server, step_of(*client)) == Outcome::client_failed);
    CHECK(client->failure() == HandshakeFailure::peer_certificate);
    CHECK_EQ(std::string(client->failure_reason()), std::string(c.reason));
  }
  // Verification off: the same mismatch connects.
  TlsClientSettings lax;
  lax.verify_peer = false;
  std::string error;
  auto lax_context = TlsClientContext::create(lax, error);
  SocketPair sockets;
  auto server = TlsStream::accept(context, sockets.server, nullptr);
  auto client = TlsStream::connect(lax_context, sockets.client, "other.example.org", nullptr, error);
  CHECK(drive(*server, step_of(*client)) == Outcome::both_done);
  CHECK(client->peer_subject().empty());  // nothing verified, nothing vouched for
}

TEST(tls_client_refuses_a_server_name_that_is_no_host) {
  std::string error;
  SocketPair sockets;
  auto client = TlsStream::connect(client_context_trusting(fixtures().ca), sockets.client, "bad name!", nullptr, error);
  CHECK(client == nullptr);
  CHECK(error.find("neither a host name nor an IP address") != std::string::npos);
}
