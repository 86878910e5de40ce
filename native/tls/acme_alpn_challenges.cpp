#include "tls/acme_alpn_challenges.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "tls/alpn.h"
#include "tls/certificate_names.h"
#include "tls/host_name.h"
#include "tls/openssl_error.h"
#include "tls/pem.h"
#include "tls/tls_profile.h"

namespace lb::tls {
namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpenSslFree<ASN1_OBJECT_free>>;

// A challenge connection speaks acme-tls/1 or nothing: the validator offers only that.
int select_acme_tls(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                    unsigned int in_length, void*) {
  static constexpr char ours[] =
      "\x0a"
      "acme-tls/1";
  std::string_view selected;
  if (select_alpn(std::string_view(ours, sizeof(ours) - 1),
                  std::string_view(reinterpret_cast<const char*>(in), in_length), selected) != AlpnChoice::selected) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = reinterpret_cast<const unsigned char*>(selected.data());
  *out_length = static_cast<unsigned char>(selected.size());
  return SSL_TLSEXT_ERR_OK;
}

// The name was chosen already (this context was switched to for it); a second
// ClientHello after a HelloRetryRequest must not fall back to the listener's callback.
int keep_context(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }

SslCtxPtr make_challenge_context(const AcmeAlpnChallenge& challenge, std::string& error) {
  std::vector<X509Ptr> chain;
  std::string problem;
  if (!read_certificates(challenge.cert_pem, chain, problem)) {
    error = problem;
    return nullptr;
  }
  EvpPkeyPtr key = read_private_key(challenge.key_pem, problem);
  if (!key) {
    error = problem;
    return nullptr;
  }
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    clear_errors();
    error = "the private key does not match the certificate";
    return nullptr;
  }
  if (!has_acme_identifier(leaf)) {
    error = "the certificate has no critical acmeIdentifier extension (1.3.6.1.5.5.7.1.31) with a SHA-256 digest";
    return nullptr;
  }
  std::vector<std::string> names = certificate_dns_names(leaf);
  std::string normalized;
  normalize_host_name(challenge.name, normalized);
  if (std::find(names.begin(), names.end(), normalized) == names.end()) {
    error = "the certificate does not name it";
    return nullptr;
  }
  SslCtxPtr context(SSL_CTX_new(TLS_server_method()));
  if (!context) {
    error = describe_failure("cannot create an SSL_CTX");
    return nullptr;
  }
  SSL_CTX* ctx = context.get();
  if (!apply_tls_profile(ctx, error)) return nullptr;
  if (SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    error = describe_failure("the certificate cannot be used");
    return nullptr;
  }
  // Nothing of a challenge connection is worth resuming.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_alpn_select_cb(ctx, &select_acme_tls, nullptr);
  SSL_CTX_set_tlsext_servername_callback(ctx, &keep_context);
  return context;
}

}  // namespace

bool has_acme_identifier(X509* cert) {
  Asn1ObjectPtr oid(OBJ_txt2obj(acme_identifier_oid, 1));
  if (!oid) {
    clear_errors();
    return false;
  }
  int at = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (at < 0) return false;
  X509_EXTENSION* extension = X509_get_ext(cert, at);
  if (X509_EXTENSION_get_critical(extension) != 1) return false;
  // extnValue holds the DER of an OCTET STRING of 32 bytes: tag 0x04, length 0x20.
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(extension);
  const unsigned char* der = ASN1_STRING_get0_data(value);
  return ASN1_STRING_length(value) == 34 && der[0] == 0x04 && der[1] == 0x20;
}

std::shared_ptr<const AcmeAlpnChallenges> AcmeAlpnChallenges::create(const std::vector<AcmeAlpnChallenge>& challenges,
                                                                     std::string& error) {
  std::shared_ptr<AcmeAlpnChallenges> table(new AcmeAlpnChallenges());
  for (const AcmeAlpnChallenge& challenge : challenges) {
    std::string label = "challenge for '" + challenge.name + "': ";
    std::string name;
    if (!normalize_host_name(challenge.name, name) || is_wildcard(name)) {
      error = label + "expected a DNS name (no wildcard)";
      return nullptr;
    }
    std::string problem;
    SslCtxPtr context = make_challenge_context(challenge, problem);
    if (!context) {
      clear_errors();
      error = label + problem;
      return nullptr;
    }
    if (!table->names_.add(name, table->contexts_.size())) {
      error = label + "listed twice";
      return nullptr;
    }
    table->contexts_.push_back(std::move(context));
  }
  return table;
}

SSL_CTX* AcmeAlpnChallenges::context_for(std::string_view server_name) const {
  std::optional<size_t> index = names_.find(server_name);
  return index ? contexts_[*index].get() : nullptr;
}

}  // namespace lb::tls
