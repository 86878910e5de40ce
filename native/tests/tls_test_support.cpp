#include "tests/tls_test_support.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "tls/tls_client_context.h"

namespace lb::tls_testing {
namespace {

using namespace lb::tls;

[[noreturn]] void fixture_failed(const char* what) {
  std::fprintf(stderr, "tls test fixture: %s failed\n", what);
  std::abort();
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) fixture_failed("X509V3_EXT_conf_nid");
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

X509Ptr new_certificate(EVP_PKEY* key, const std::string& common_name) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* number = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert.get()));
  BN_free(number);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 86400);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("lb-native tests"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_pubkey(cert.get(), key);
  return cert;
}

}  // namespace

EvpPkeyPtr make_key(KeyKind kind, int rsa_bits) {
  EvpPkeyPtr key(kind == KeyKind::rsa ? EVP_RSA_gen(static_cast<unsigned int>(rsa_bits)) : EVP_EC_gen("P-256"));
  if (!key) fixture_failed("key generation");
  return key;
}

Credential make_ca(const std::string& common_name) {
  Credential ca;
  ca.key = make_key(KeyKind::ecdsa);
  ca.cert = new_certificate(ca.key.get(), common_name);
  X509_set_issuer_name(ca.cert.get(), X509_get_subject_name(ca.cert.get()));
  add_extension(ca.cert.get(), ca.cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.cert.get(), ca.cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  if (X509_sign(ca.cert.get(), ca.key.get(), EVP_sha256()) <= 0) fixture_failed("CA signature");
  ca.cert_pem = to_pem(ca.cert.get());
  ca.key_pem = to_pem(ca.key.get());
  return ca;
}

Credential make_certificate(const Credential& issuer, const CertificateRequest& request, EvpPkeyPtr key) {
  Credential out;
  out.key = key ? std::move(key) : make_key(request.key);
  out.cert = new_certificate(out.key.get(), request.common_name);
  X509_set_issuer_name(out.cert.get(), X509_get_subject_name(issuer.cert.get()));
  X509* cert = out.cert.get();
  add_extension(cert, issuer.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  bool rsa = EVP_PKEY_get_id(out.key.get()) == EVP_PKEY_RSA;
  add_extension(cert, issuer.cert.get(), NID_key_usage,
                rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
  add_extension(cert, issuer.cert.get(), NID_ext_key_usage, request.client_auth ? "clientAuth" : "serverAuth");
  std::string names;
  for (const std::string& name : request.dns_names) names += (names.empty() ? "DNS:" : ",DNS:") + name;
  for (const std::string& ip : request.ip_addresses) names += (names.empty() ? "IP:" : ",IP:") + ip;
  if (!names.empty()) add_extension(cert, issuer.cert.get(), NID_subject_alt_name, names);
  if (X509_sign(cert, issuer.key.get(), EVP_sha256()) <= 0) fixture_failed("certificate signature");
  out.cert_pem = to_pem(cert);
  out.key_pem = to_pem(out.key.get());
  return out;
}

const Fixtures& fixtures() {
  static const Fixtures made = [] {
    Fixtures f;
    f.ca = make_ca("lb-native test CA");
    f.other_ca = make_ca("lb-native other test CA");
    f.example_rsa = make_certificate(f.ca, {"example rsa", {"example.com", "www.example.com"}, {}, KeyKind::rsa});
    f.example_ecdsa = make_certificate(f.ca, {"example ecdsa", {"example.com", "www.example.com"}, {}, KeyKind::ecdsa});
    f.wildcard = make_certificate(f.ca, {"wildcard", {"*.wild.test"}, {}, KeyKind::ecdsa});
    f.fallback = make_certificate(f.ca, {"fallback", {"default.test"}, {}, KeyKind::ecdsa});
    f.address = make_certificate(f.ca, {"address", {"localhost"}, {"127.0.0.1"}, KeyKind::ecdsa});
    f.client = make_certificate(f.ca, {"client", {}, {}, KeyKind::ecdsa, true});
    f.stranger = make_certificate(f.other_ca, {"stranger", {}, {}, KeyKind::ecdsa, true});
    return f;
  }();
  return made;
}

TlsCertificatePem pem_of(const Credential& credential) { return {credential.cert_pem, credential.key_pem}; }

std::shared_ptr<const TlsServerContext> server_context(const TlsServerSettings& settings) {
  std::string error;
  auto context = TlsServerContext::create(settings, error);
  if (!context) {
    std::fprintf(stderr, "tls test fixture: server context: %s\n", error.c_str());
    std::abort();
  }
  return context;
}

std::shared_ptr<const TlsServerContext> server_context(std::vector<const Credential*> certificates) {
  TlsServerSettings settings;
  for (const Credential* credential : certificates) settings.certificates.push_back(pem_of(*credential));
  return server_context(settings);
}

std::shared_ptr<const TlsClientContext> client_context_trusting(const Credential& ca) {
  TlsClientSettings settings;
  settings.ca_pem = ca.cert_pem;
  std::string error;
  auto context = TlsClientContext::create(settings, error);
  if (!context) {
    std::fprintf(stderr, "tls test fixture: client context: %s\n", error.c_str());
    std::abort();
  }
  return context;
}

SocketPair::SocketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    fixture_failed("socketpair");
  }
  server = fds[0];
  client = fds[1];
}

SocketPair::~SocketPair() {
  if (server >= 0) ::close(server);
  close_client();
}

void SocketPair::close_client() {
  if (client >= 0) ::close(client);
  client = -1;
}

RawClient::RawClient(int fd, const RawClientOptions& options) {
  // OpenSSL's own socket BIO writes with write(): a closed peer must not kill the tests.
  std::signal(SIGPIPE, SIG_IGN);
  context_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = context_.get();
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx, options.max_version);
  if (!options.sigalgs.empty() && SSL_CTX_set1_sigalgs_list(ctx, options.sigalgs.c_str()) != 1) {
    fixture_failed("sigalgs");
  }
  if (!options.tls12_ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.tls12_ciphers.c_str()) != 1) {
    fixture_failed("cipher list");
  }
  if (options.no_tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& protocol : options.alpn) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire += protocol;
    }
    SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size()));
  }
  if (options.certificate != nullptr) {
    SSL_CTX_use_certificate(ctx, options.certificate->cert.get());
    SSL_CTX_use_PrivateKey(ctx, options.certificate->key.get());
  }
  ssl_.reset(SSL_new(ctx));
  SSL_set_fd(ssl_.get(), fd);
  SSL_set_connect_state(ssl_.get());
  if (!options.server_name.empty()) SSL_set_tlsext_host_name(ssl_.get(), options.server_name.c_str());
  if (options.session != nullptr) SSL_set_session(ssl_.get(), options.session);
}

RawClient::~RawClient() {
  if (ssl_) SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

int RawClient::handshake_step() {
  ERR_clear_error();
  int result = SSL_do_handshake(ssl_.get());
  if (result == 1) return 1;
  int error = SSL_get_error(ssl_.get(), result);
  ERR_clear_error();
  return (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) ? 0 : -1;
}

bool RawClient::send(std::string_view bytes) {
  size_t written = 0;
  return SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &written) == 1 && written == bytes.size();
}

std::string RawClient::receive_available() {
  std::string out;
  char buffer[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while (std::chrono::steady_clock::now() < deadline) {
    size_t got = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_.get(), buffer, sizeof(buffer), &got) == 1) {
      out.append(buffer, got);
      continue;
    }
    int error = SSL_get_error(ssl_.get(), 0);
    ERR_clear_error();
    if (error != SSL_ERROR_WANT_READ) break;
    ::usleep(2000);
  }
  return out;
}

std::string RawClient::peer_common_name() {
  X509* peer = SSL_get0_peer_certificate(ssl_.get());
  if (peer == nullptr) return {};
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof(name));
  return name;
}

int RawClient::peer_key_type() {
  X509* peer = SSL_get0_peer_certificate(ssl_.get());
  return peer == nullptr ? 0 : EVP_PKEY_get_id(X509_get0_pubkey(peer));
}

SslSessionPtr RawClient::session() { return SslSessionPtr(SSL_get1_session(ssl_.get())); }

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::both_done: return "both_done";
    case Outcome::server_failed: return "server_failed";
    case Outcome::client_failed: return "client_failed";
    case Outcome::stalled: return "stalled";
  }
  return "?";
}

Outcome drive(TlsStream& server, const std::function<int()>& client_step, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool server_done = false;
  bool client_done = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!server_done) {
      HandshakeStatus status = server.handshake();
      if (status == HandshakeStatus::failed) return Outcome::server_failed;
      server_done = status == HandshakeStatus::done;
    }
    if (!client_done) {
      int step = client_step();
      if (step < 0) return Outcome::client_failed;
      client_done = step == 1;
    }
    if (server_done && client_done) return Outcome::both_done;
    ::poll(nullptr, 0, 1);
  }
  return Outcome::stalled;
}

std::function<int()> step_of(TlsStream& client) {
  return [&client] {
    HandshakeStatus status = client.handshake();
    if (status == HandshakeStatus::done) return 1;
    return status == HandshakeStatus::failed ? -1 : 0;
  };
}

std::function<int()> step_of(RawClient& client) {
  return [&client] { return client.handshake_step(); };
}

std::string transfer(TlsStream& from, TlsStream& to, std::string_view bytes, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t sent = 0;
  std::string received;
  char buffer[8192];
  while (received.size() < bytes.size() && std::chrono::steady_clock::now() < deadline) {
    bool moved = false;
    if (sent < bytes.size()) {
      iovec part{const_cast<char*>(bytes.data() + sent), bytes.size() - sent};
      TlsIoResult wrote = from.write(&part, 1);
      if (wrote.status == TlsIoStatus::failed) break;
      if (wrote.status == TlsIoStatus::progress) {
        sent += wrote.bytes;
        moved = true;
      }
    }
    for (;;) {
      TlsIoResult got = to.read(buffer, sizeof(buffer));
      if (got.status != TlsIoStatus::progress) break;
      received.append(buffer, got.bytes);
      moved = true;
    }
    if (!moved) ::poll(nullptr, 0, 1);
  }
  return received;
}

}  // namespace lb::tls_testing
