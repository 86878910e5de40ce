// What connecting to TLS backends needs, built once per backend TLS configuration and
// shared read-only by the workers. Verification is on unless switched off: the chain must
// lead to a trusted CA (the given CA certificates, or the system's default locations) and
// the certificate must name the host (or IP address) connected to.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl_ptr.h"

namespace lb::tls {

struct TlsClientSettings {
  bool verify_peer = true;
  // The CAs backend certificates must chain to. Empty: OpenSSL's default locations
  // (SSL_CERT_FILE / SSL_CERT_DIR, else the OPENSSLDIR the running OpenSSL was built
  // with, which for an official Node binary need not be the system's; the control plane
  // should then pass the bundle it wants here).
  std::string ca_pem;
  std::vector<std::string> alpn_protocols{"http/1.1"};
};

class TlsClientContext {
 public:
  static std::shared_ptr<const TlsClientContext> create(const TlsClientSettings& settings, std::string& error);

  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  // A client-side SSL for one backend connection. `server_name` is sent as SNI when it is
  // a DNS name (never for an IP address, RFC 6066) and is what the certificate must name
  // when verifying (a DNS name or an IP address; empty: the chain alone is checked).
  // `session`, when not null, is offered for resumption (the caller keeps the last
  // session per backend; see TlsStream::resumable_session()).
  SslPtr new_connection(std::string_view server_name, SSL_SESSION* session, std::string& error) const;

  bool verifies_peer() const { return verify_peer_; }
  const BIO_METHOD* bio_method() const { return bio_method_.get(); }

 private:
  TlsClientContext() = default;

  SslCtxPtr context_;
  BioMethodPtr bio_method_;
  bool verify_peer_ = true;
};

}  // namespace lb::tls
