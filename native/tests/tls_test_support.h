// Shared pieces of the TLS tests: certificates made at test time with OpenSSL's API (no
// key is ever committed), non-blocking socket pairs, a raw OpenSSL client for what
// TlsClientContext deliberately does not offer (restricted signature algorithms, TLS 1.2
// only, no tickets), and a loop that drives both ends of a handshake.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl_ptr.h"
#include "tls/tls_server_context.h"
#include "tls/tls_stream.h"

namespace lb::tls_testing {

enum class KeyKind { rsa, ecdsa };

// A certificate and its key, as OpenSSL objects and as PEM text.
struct Credential {
  tls::X509Ptr cert;
  tls::EvpPkeyPtr key;
  std::string cert_pem;
  std::string key_pem;
};

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  KeyKind key = KeyKind::ecdsa;
  bool client_auth = false;  // clientAuth instead of serverAuth
};

tls::EvpPkeyPtr make_key(KeyKind kind, int rsa_bits = 2048);
Credential make_ca(const std::string& common_name);
Credential make_certificate(const Credential& issuer, const CertificateRequest& request, tls::EvpPkeyPtr key = nullptr);

// Made once per run: RSA key generation is slow under the sanitizers.
struct Fixtures {
  Credential ca;
  Credential other_ca;
  Credential example_rsa;    // CN=example rsa, example.com + www.example.com
  Credential example_ecdsa;  // CN=example ecdsa, same names
  Credential wildcard;       // CN=wildcard, *.wild.test
  Credential fallback;       // CN=fallback, default.test
  Credential address;        // CN=address, localhost + IP 127.0.0.1
  Credential client;         // CN=client, issued by ca
  Credential stranger;       // CN=stranger, issued by other_ca
};
const Fixtures& fixtures();

tls::TlsCertificatePem pem_of(const Credential& credential);
std::shared_ptr<const tls::TlsServerContext> server_context(const tls::TlsServerSettings& settings);
std::shared_ptr<const tls::TlsServerContext> server_context(std::vector<const Credential*> certificates);
std::shared_ptr<const tls::TlsClientContext> client_context_trusting(const Credential& ca);

// A connected pair of non-blocking stream sockets.
struct SocketPair {
  int server = -1;
  int client = -1;
  SocketPair();
  ~SocketPair();
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  void close_client();
};

struct RawClientOptions {
  std::string server_name{};
  std::vector<std::string> alpn{};
  std::string sigalgs{};        // e.g. "ECDSA+SHA256"
  std::string tls12_ciphers{};  // e.g. "ECDHE-RSA-AES128-GCM-SHA256"
  int max_version = 0;          // e.g. TLS1_2_VERSION
  bool no_tickets = false;
  SSL_SESSION* session = nullptr;
  const Credential* certificate = nullptr;  // sent when the server asks
};

// A client of plain OpenSSL calls that does not verify the server (tests look at what
// the server sent instead).
class RawClient {
 public:
  RawClient(int fd, const RawClientOptions& options);
  ~RawClient();          // keeps the session resumable, as TlsStream does
  int handshake_step();  // 1 done, 0 waiting, -1 failed
  bool send(std::string_view bytes);
  std::string receive_available();  // whatever arrives within a short while
  SSL* ssl() { return ssl_.get(); }
  std::string peer_common_name();
  int peer_key_type();
  tls::SslSessionPtr session();

 private:
  tls::SslCtxPtr context_;
  tls::SslPtr ssl_;
};

enum class Outcome { both_done, server_failed, client_failed, stalled };
const char* to_string(Outcome outcome);

// Steps both handshakes until both are done, one fails, or `timeout_ms` passes.
Outcome drive(tls::TlsStream& server, const std::function<int()>& client_step, int timeout_ms = 5000);
std::function<int()> step_of(tls::TlsStream& client);
std::function<int()> step_of(RawClient& client);

// Sends `bytes` from one established stream and collects them on the other, both sides
// non-blocking, interleaved. Returns what arrived (short if the deadline passed).
std::string transfer(tls::TlsStream& from, tls::TlsStream& to, std::string_view bytes, int timeout_ms = 5000);

}  // namespace lb::tls_testing
