// Everything a TLS listener needs to accept connections, built once from plain settings
// and then immutable: shared read-only by every worker thread through
// std::shared_ptr<const TlsServerContext>. A configuration change builds a new one;
// connections keep the one they were accepted with.
//
// SNI: several certificates, chosen by the name the client asks for (exact names, then
// "*.example.com" wildcards covering one label), the first certificate for clients that
// send no name or an unknown one. RSA and ECDSA certificates for the same names sit in the
// same SSL_CTX (OpenSSL keeps one certificate per key type in a context and picks the one
// the client's signature algorithms and cipher suites allow), so the client's abilities
// choose. Concretely there is one SSL_CTX per distinct set of certificates that some name
// resolves to: two certificates with the same names share one, a certificate with a
// hundred names has one, and overlapping name sets get one per overlap.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/acme_alpn_challenges.h"
#include "tls/ktls_support.h"
#include "tls/openssl_ptr.h"
#include "tls/sni_table.h"
#include "tls/ticket_keys.h"

namespace lb::tls {

enum class ClientVerify : uint8_t {
  none,      // no client certificate is asked for
  optional,  // asked for; a client may send none, but one it sends must verify
  required,  // a verified client certificate or no handshake
};

struct TlsCertificatePem {
  std::string cert_chain_pem;  // the leaf first, then its intermediates in order
  std::string key_pem;         // the leaf's private key (unencrypted)
};

struct TlsServerSettings {
  std::vector<TlsCertificatePem> certificates;  // the first is the default certificate
  // A listener waiting for its first ACME certificate: built with no certificate, it
  // completes only the handshakes of TLS-ALPN-01 challenges (acme_alpn_challenges.h).
  bool awaiting_certificate = false;
  // Offered in this order of preference; a client that offers none speaks HTTP/1.1.
  std::vector<std::string> alpn_protocols{"http/1.1"};
  std::string client_ca_pem;  // the CAs client certificates must chain to (mTLS)
  ClientVerify client_verify = ClientVerify::none;
  // Sessions kept for TLS 1.2 clients that resume by session ID; 0 turns the cache off.
  size_t session_cache_size = 20'000;
  // How long a session (cached or in a ticket) may be resumed.
  uint32_t session_timeout_seconds = 300;
  // Opt-in: after the handshake, hand the record layer to the kernel (kTLS) where the
  // kernel and the linked OpenSSL allow it (SSL_OP_ENABLE_KTLS); user space otherwise.
  bool ktls = false;
};

class TlsServerContext {
 public:
  // Builds the context, or returns nullptr with `error` naming what is wrong (for a
  // certificate: "certificate 2: the private key does not match the certificate").
  static std::shared_ptr<const TlsServerContext> create(const TlsServerSettings& settings, std::string& error);

  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // A server-side SSL for one accepted connection. Session tickets are sealed and opened
  // with `ring` (the accepting worker's own copy, which must outlive the SSL); with
  // nullptr the connection issues no tickets. `challenges` (which must outlive the SSL;
  // nullptr for none) are the TLS-ALPN-01 challenges pending when it was accepted.
  SslPtr new_connection(const TicketKeyRing* ring, const AcmeAlpnChallenges* challenges = nullptr) const;

  // The SSL_CTX a client asking for `server_name` is served from (the default one for an
  // unknown name). For tests and diagnostics: connections switch in the SNI callback.
  SSL_CTX* context_for(std::string_view server_name) const;
  SSL_CTX* default_context() const { return contexts_.front().get(); }
  size_t context_count() const { return contexts_.size(); }

  const BIO_METHOD* bio_method() const { return bio_method_.get(); }

  bool ktls_requested() const { return ktls_requested_; }
  // What the kernel and OpenSSL offer, probed when the context was built.
  const KtlsSupport& ktls_support() const { return ktls_support_; }

 private:
  TlsServerContext() = default;

  static int on_client_hello(SSL* ssl, int* alert, void* self);
  static int on_server_name(SSL* ssl, int* alert, void* self);
  static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                     unsigned int in_length, void* self);
  static int on_ticket_key(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher_context,
                           EVP_MAC_CTX* mac_context, int encrypt);

  friend class TlsServerContextBuilder;

  std::vector<SslCtxPtr> contexts_;  // [0] serves the default certificate
  SniTable sni_;                     // name -> index into contexts_
  std::string alpn_wire_;            // our protocols, in preference order
  // Fetched once: an implicit fetch per ticket would take OpenSSL 3.0's method-store
  // lock on every handshake.
  EvpCipherPtr ticket_cipher_;
  BioMethodPtr bio_method_;
  bool ktls_requested_ = false;
  KtlsSupport ktls_support_;
};

}  // namespace lb::tls
