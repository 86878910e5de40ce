// The TLS-ALPN-01 challenges (RFC 8737) a TLS listener answers while an ACME order waits
// for them: per DNS name, an SSL_CTX holding only that name's self-signed challenge
// certificate (with the critical acmeIdentifier extension) and selecting only ALPN
// "acme-tls/1". Built once from PEM and then only read, so any number of workers look up
// at once without a lock; a change of the pending challenges is a new table, published
// in a new configuration snapshot (proxy::ProxyConfig::acme_alpn_challenges).
//
// How a handshake gets here (tls_server_context.cpp): the listener's ClientHello callback
// keeps the table for a connection only when the client offers "acme-tls/1"; its server
// name callback then switches such a connection to the challenge context for the name it
// asked for. A name with no pending challenge gets the listener's ordinary handshake,
// whose ALPN list never holds "acme-tls/1", so a validator is never shown an ordinary
// certificate as the answer to a challenge.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl_ptr.h"
#include "tls/sni_table.h"

namespace lb::tls {

struct AcmeAlpnChallenge {
  std::string name;      // the DNS name being validated (no wildcard)
  std::string cert_pem;  // the self-signed challenge certificate
  std::string key_pem;   // its private key
};

class AcmeAlpnChallenges {
 public:
  // Builds the table, or returns nullptr with `error` naming the entry and what is wrong
  // (a name listed twice, a certificate without the acmeIdentifier extension, a key that
  // does not match, ...). An empty list gives an empty table.
  static std::shared_ptr<const AcmeAlpnChallenges> create(const std::vector<AcmeAlpnChallenge>& challenges,
                                                          std::string& error);

  AcmeAlpnChallenges(const AcmeAlpnChallenges&) = delete;
  AcmeAlpnChallenges& operator=(const AcmeAlpnChallenges&) = delete;

  // The challenge context for `server_name` as the client sent it (any case, maybe a
  // trailing dot), or nullptr when no challenge is pending for it.
  SSL_CTX* context_for(std::string_view server_name) const;
  bool empty() const { return contexts_.empty(); }
  size_t size() const { return contexts_.size(); }

 private:
  AcmeAlpnChallenges() = default;

  std::vector<SslCtxPtr> contexts_;
  SniTable names_;  // exact names only -> index into contexts_
};

// The OID of RFC 8737's id-pe-acmeIdentifier extension.
inline constexpr const char* acme_identifier_oid = "1.3.6.1.5.5.7.1.31";

// Whether `cert` carries the acmeIdentifier extension, critical, holding a SHA-256 digest
// (a 32-byte OCTET STRING) as RFC 8737 section 3 requires.
bool has_acme_identifier(X509* cert);

}  // namespace lb::tls
