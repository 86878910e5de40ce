#include "tls/tls_server_context.h"

#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <map>

#include "tls/alpn.h"
#include "tls/certificate_names.h"
#include "tls/host_name.h"
#include "tls/openssl_error.h"
#include "tls/pem.h"
#include "tls/socket_bio.h"
#include "tls/tls_profile.h"

namespace lb::tls {
namespace {

struct LoadedCertificate {
  X509Ptr leaf;
  X509StackPtr chain;  // the intermediates, in order
  EvpPkeyPtr key;
  int key_type = 0;  // EVP_PKEY_RSA, EVP_PKEY_EC, ...: one slot per type in an SSL_CTX
  std::vector<std::string> names;
};

const char* supported_key_type_name(int key_type) {
  switch (key_type) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "ECDSA";
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_ED448: return "Ed448";
    default: return nullptr;
  }
}

// The SSL's slot for the TLS-ALPN-01 challenges it may be answered from: set at accept
// when challenges are pending, cleared by the ClientHello callback unless the client
// offers acme-tls/1, and read once by the server name callback. One index for the
// process, taken on first use (OpenSSL's ex_data indexes are process-wide by design).
int challenge_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

std::string certificate_label(size_t index) { return "certificate " + std::to_string(index); }

bool holds(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

// Turns settings into a TlsServerContext, one step per method, stopping at the first
// problem with `error_` set.
class TlsServerContextBuilder {
 public:
  TlsServerContextBuilder(const TlsServerSettings& settings, TlsServerContext& out, std::string& error)
      : settings_(settings), out_(out), error_(error) {}

  bool build() {
    return check_settings() && load_certificates() && load_client_cas() && make_session_id_context() && make_contexts();
  }

 private:
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  bool check_settings() {
    if (settings_.certificates.empty() && !settings_.awaiting_certificate) return fail("no certificate given");
    std::string alpn_error;
    if (!encode_alpn(settings_.alpn_protocols, out_.alpn_wire_, alpn_error)) return fail(alpn_error);
    if (settings_.session_timeout_seconds == 0) return fail("the session timeout must be at least 1 second");
    if (settings_.client_verify != ClientVerify::none && settings_.client_ca_pem.empty()) {
      return fail("client certificate verification needs the client CA certificates");
    }
    out_.bio_method_ = make_socket_bio_method();
    if (!out_.bio_method_) return fail(describe_failure("cannot create the socket BIO method"));
    out_.ktls_requested_ = settings_.ktls;
    out_.ktls_support_ = detect_ktls_support();
    out_.ticket_cipher_.reset(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
    if (!out_.ticket_cipher_) return fail(describe_failure("cannot fetch AES-256-CBC for session tickets"));
    return true;
  }

  bool load_certificates() {
    for (size_t index = 0; index < settings_.certificates.size(); ++index) {
      const TlsCertificatePem& pem = settings_.certificates[index];
      std::string label = certificate_label(index);
      std::string problem;
      std::vector<X509Ptr> chain;
      if (!read_certificates(pem.cert_chain_pem, chain, problem)) return fail(label + ": " + problem);
      LoadedCertificate loaded;
      loaded.key = read_private_key(pem.key_pem, problem);
      if (!loaded.key) return fail(label + ": " + problem);
      loaded.key_type = EVP_PKEY_get_id(loaded.key.get());
      if (supported_key_type_name(loaded.key_type) == nullptr) {
        return fail(label + ": the key type is not supported (RSA, ECDSA, Ed25519 or Ed448 expected)");
      }
      if (X509_check_private_key(chain.front().get(), loaded.key.get()) != 1) {
        clear_errors();
        return fail(label + ": the private key does not match the certificate");
      }
      loaded.names = certificate_dns_names(chain.front().get());
      if (loaded.names.empty() && index > 0) {
        return fail(label +
                    ": names no DNS host (no subjectAltName DNS entry, no common name); "
                    "only the first (default) certificate may");
      }
      loaded.chain.reset(sk_X509_new_null());
      if (!loaded.chain) return fail(describe_failure(label + ": out of memory"));
      for (size_t i = 1; i < chain.size(); ++i) {
        if (sk_X509_push(loaded.chain.get(), chain[i].get()) <= 0) {
          return fail(describe_failure(label + ": out of memory"));
        }
        chain[i].release();  // the stack owns it now
      }
      loaded.leaf = std::move(chain.front());
      certificates_.push_back(std::move(loaded));
    }
    used_.assign(certificates_.size(), false);
    return true;
  }

  bool load_client_cas() {
    if (settings_.client_verify == ClientVerify::none) return true;
    std::vector<X509Ptr> cas;
    std::string problem;
    if (!read_certificates(settings_.client_ca_pem, cas, problem)) return fail("client CA: " + problem);
    client_store_.reset(X509_STORE_new());
    client_ca_names_.reset(sk_X509_NAME_new_null());
    if (!client_store_ || !client_ca_names_) return fail(describe_failure("client CA: out of memory"));
    for (size_t i = 0; i < cas.size(); ++i) {
      if (X509_STORE_add_cert(client_store_.get(), cas[i].get()) != 1) {
        return fail(describe_failure("client CA certificate " + std::to_string(i) + ": cannot be used"));
      }
      X509NamePtr name(X509_NAME_dup(X509_get_subject_name(cas[i].get())));
      if (!name || sk_X509_NAME_push(client_ca_names_.get(), name.get()) <= 0) {
        return fail(describe_failure("client CA: out of memory"));
      }
      name.release();
    }
    return true;
  }

  // Sessions resume only under the client-authentication policy they were made under,
  // so a session from a listener without mTLS never resumes into one with it.
  bool make_session_id_context() {
    std::string policy = "lb-native server session v1";
    policy.push_back(static_cast<char>(settings_.client_verify));
    policy += settings_.client_ca_pem;
    unsigned int length = 0;
    if (EVP_Digest(policy.data(), policy.size(), session_id_context_, &length, EVP_sha256(), nullptr) != 1 ||
        length != sizeof(session_id_context_)) {
      return fail(describe_failure("cannot derive the session ID context"));
    }
    return true;
  }

  // The certificates serving `pattern`: per key type, the first certificate naming it
  // exactly, then (for a plain name) the first whose wildcard covers it.
  std::vector<size_t> certificates_for(std::string_view pattern) const {
    std::vector<size_t> chosen;
    std::vector<int> key_types;
    auto consider = [&](size_t index) {
      int type = certificates_[index].key_type;
      if (std::find(key_types.begin(), key_types.end(), type) != key_types.end()) return;
      key_types.push_back(type);
      chosen.push_back(index);
    };
    for (size_t i = 0; i < certificates_.size(); ++i) {
      if (holds(certificates_[i].names, pattern)) consider(i);
    }
    std::string_view suffix = is_wildcard(pattern) ? std::string_view() : wildcard_suffix_of(pattern);
    if (!suffix.empty()) {
      std::string wildcard = "*." + std::string(suffix);
      for (size_t i = 0; i < certificates_.size(); ++i) {
        if (holds(certificates_[i].names, wildcard)) consider(i);
      }
    }
    std::sort(chosen.begin(), chosen.end());
    return chosen;
  }

  bool make_contexts() {
    if (certificates_.empty()) {  // awaiting its first certificate: ACME challenges only
      size_t ignored = 0;
      return context_index_for({}, ignored);
    }
    // The default context first, so that it is contexts_[0].
    const LoadedCertificate& first = certificates_.front();
    std::vector<size_t> default_set =
        first.names.empty() ? std::vector<size_t>{0} : certificates_for(first.names.front());
    size_t ignored = 0;
    if (!context_index_for(default_set, ignored)) return false;
    for (const LoadedCertificate& certificate : certificates_) {
      for (const std::string& pattern : certificate.names) {
        size_t index = 0;
        if (!context_index_for(certificates_for(pattern), index)) return false;
        out_.sni_.add(pattern, index);
      }
    }
    for (size_t i = 0; i < certificates_.size(); ++i) {
      if (!used_[i]) {
        return fail(certificate_label(i) +
                    " is never served: earlier certificates with the same "
                    "key type cover all its names");
      }
    }
    return true;
  }

  bool context_index_for(const std::vector<size_t>& set, size_t& index) {
    if (auto known = by_set_.find(set); known != by_set_.end()) {
      index = known->second;
      return true;
    }
    SslCtxPtr context = make_context(set);
    if (!context) return false;
    index = out_.contexts_.size();
    out_.contexts_.push_back(std::move(context));
    by_set_.emplace(set, index);
    return true;
  }

  SslCtxPtr make_context(const std::vector<size_t>& set) {
    SslCtxPtr context(SSL_CTX_new(TLS_server_method()));
    if (!context) {
      fail(describe_failure("cannot create an SSL_CTX"));
      return nullptr;
    }
    SSL_CTX* ctx = context.get();
    std::string problem;
    if (!apply_tls_profile(ctx, problem)) {
      fail(problem);
      return nullptr;
    }
    for (size_t index : set) {
      used_[index] = true;
      const LoadedCertificate& certificate = certificates_[index];
      std::string label = certificate_label(index);
      if (SSL_CTX_use_certificate(ctx, certificate.leaf.get()) != 1) {
        fail(describe_failure(label + ": the certificate cannot be used"));
        return nullptr;
      }
      if (SSL_CTX_use_PrivateKey(ctx, certificate.key.get()) != 1) {
        fail(describe_failure(label + ": the private key cannot be used"));
        return nullptr;
      }
      if (SSL_CTX_set1_chain(ctx, certificate.chain.get()) != 1) {
        fail(describe_failure(label + ": the intermediate certificates cannot be used"));
        return nullptr;
      }
    }
    if (SSL_CTX_set_session_id_context(ctx, session_id_context_, sizeof(session_id_context_)) != 1) {
      fail(describe_failure("cannot set the session ID context"));
      return nullptr;
    }
    if (settings_.session_cache_size > 0) {
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
      SSL_CTX_sess_set_cache_size(ctx, static_cast<long>(settings_.session_cache_size));
    } else {
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_timeout(ctx, settings_.session_timeout_seconds);
    // Read-ahead: OpenSSL reads what the socket has, not a record header and then its
    // body, so a client's flight (ClientHello; then Finished and the first request) costs
    // one read instead of two per record. Bytes it holds show in has_buffered_input().
    SSL_CTX_set_read_ahead(ctx, 1);
#ifndef OPENSSL_NO_KTLS
    if (out_.ktls_requested_ && out_.ktls_support_.usable()) SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
#endif
    if (settings_.client_verify != ClientVerify::none) {
      int mode = SSL_VERIFY_PEER;
      if (settings_.client_verify == ClientVerify::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(ctx, mode, nullptr);
      STACK_OF(X509_NAME)* names = SSL_dup_CA_list(client_ca_names_.get());
      if (names == nullptr || SSL_CTX_set1_verify_cert_store(ctx, client_store_.get()) != 1) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        fail(describe_failure("cannot set the client CA certificates"));
        return nullptr;
      }
      SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
    }
    SSL_CTX_set_app_data(ctx, &out_);
    SSL_CTX_set_client_hello_cb(ctx, &TlsServerContext::on_client_hello, &out_);
    SSL_CTX_set_tlsext_servername_callback(ctx, &TlsServerContext::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx, &out_);
    SSL_CTX_set_alpn_select_cb(ctx, &TlsServerContext::on_alpn, &out_);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TlsServerContext::on_ticket_key);
    return context;
  }

  const TlsServerSettings& settings_;
  TlsServerContext& out_;
  std::string& error_;
  std::vector<LoadedCertificate> certificates_;
  std::vector<bool> used_;
  X509StorePtr client_store_;
  X509NameStackPtr client_ca_names_;
  unsigned char session_id_context_[SSL_MAX_SID_CTX_LENGTH] = {};
  std::map<std::vector<size_t>, size_t> by_set_;
};

std::shared_ptr<const TlsServerContext> TlsServerContext::create(const TlsServerSettings& settings,
                                                                 std::string& error) {
  std::shared_ptr<TlsServerContext> context(new TlsServerContext());
  TlsServerContextBuilder builder(settings, *context, error);
  if (!builder.build()) {
    clear_errors();
    return nullptr;
  }
  return context;
}

SslPtr TlsServerContext::new_connection(const TicketKeyRing* ring, const AcmeAlpnChallenges* challenges) const {
  SslPtr ssl(SSL_new(default_context()));
  if (!ssl) return nullptr;
  SSL_set_accept_state(ssl.get());
  // The ticket callback finds the worker's ring here (the SSL's application-data slot).
  SSL_set_app_data(ssl.get(), const_cast<TicketKeyRing*>(ring));
  if (challenges != nullptr && !challenges->empty() && challenge_slot() >= 0) {
    SSL_set_ex_data(ssl.get(), challenge_slot(), const_cast<AcmeAlpnChallenges*>(challenges));
  }
  return ssl;
}

SSL_CTX* TlsServerContext::context_for(std::string_view server_name) const {
  std::optional<size_t> index = sni_.find(server_name);
  return contexts_[index.value_or(0)].get();
}

// First of the callbacks, before any extension is acted on: only a connection whose
// client offers acme-tls/1 keeps its pending challenges for on_server_name (OpenSSL
// gives the raw ALPN extension here; SSL_get_servername is not set yet).
int TlsServerContext::on_client_hello(SSL* ssl, int*, void*) {
  if (challenge_slot() < 0 || SSL_get_ex_data(ssl, challenge_slot()) == nullptr) return SSL_CLIENT_HELLO_SUCCESS;
  const unsigned char* data = nullptr;
  size_t length = 0;
  bool offered =
      SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &data, &length) == 1 &&
      extension_offers(std::string_view(reinterpret_cast<const char*>(data), length), acme_tls_protocol);
  if (!offered) SSL_set_ex_data(ssl, challenge_slot(), nullptr);
  return SSL_CLIENT_HELLO_SUCCESS;
}

// Called for every ClientHello (with or without SNI) once OpenSSL has parsed and
// checked the server_name extension, so no hand-written parsing of client bytes is
// needed; the context switch keeps the session cache and ticket keys of the default
// context (OpenSSL's session_ctx), so resumption works whatever name was asked for.
// A client offering acme-tls/1 for a name with a pending TLS-ALPN-01 challenge is
// switched to that challenge's context (its certificate, ALPN acme-tls/1, no tickets);
// for any other name it goes on as an ordinary client, and acme-tls/1 is never selected.
int TlsServerContext::on_server_name(SSL* ssl, int* alert, void* self) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (challenge_slot() >= 0) {
    const auto* challenges = static_cast<const AcmeAlpnChallenges*>(SSL_get_ex_data(ssl, challenge_slot()));
    SSL_set_ex_data(ssl, challenge_slot(), nullptr);  // decided once
    SSL_CTX* challenge = challenges != nullptr && name != nullptr ? challenges->context_for(name) : nullptr;
    if (challenge != nullptr) {
      if (SSL_set_SSL_CTX(ssl, challenge) == nullptr) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
      }
      SSL_set_num_tickets(ssl, 0);
      SSL_set_options(ssl, SSL_OP_NO_TICKET);
      // The validator shows no client certificate: a listener that requires one must not
      // ask for it here (SSL_set_SSL_CTX keeps the verify mode the SSL was made with).
      SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
      return SSL_TLSEXT_ERR_OK;
    }
  }
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  const auto* context = static_cast<const TlsServerContext*>(self);
  std::optional<size_t> index = context->sni_.find(name);
  if (!index || *index == 0) return SSL_TLSEXT_ERR_OK;
  if (SSL_set_SSL_CTX(ssl, context->contexts_[*index].get()) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

// Server preference: our first protocol the client also offers. A client offering only
// protocols we do not speak gets RFC 7301's no_application_protocol alert.
int TlsServerContext::on_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                              unsigned int in_length, void* self) {
  const auto* context = static_cast<const TlsServerContext*>(self);
  std::string_view selected;
  AlpnChoice choice =
      select_alpn(context->alpn_wire_, std::string_view(reinterpret_cast<const char*>(in), in_length), selected);
  if (choice != AlpnChoice::selected) return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = reinterpret_cast<const unsigned char*>(selected.data());
  *out_length = static_cast<unsigned char>(selected.size());
  return SSL_TLSEXT_ERR_OK;
}

int TlsServerContext::on_ticket_key(SSL* ssl, unsigned char* key_name, unsigned char* iv,
                                    EVP_CIPHER_CTX* cipher_context, EVP_MAC_CTX* mac_context, int encrypt) {
  const auto* ring = static_cast<const TicketKeyRing*>(SSL_get_app_data(ssl));
  const auto* context = static_cast<const TlsServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (context == nullptr) return 0;  // a challenge context: no tickets
  const int result =
      apply_ticket_key(ring, context->ticket_cipher_.get(), key_name, iv, cipher_context, mac_context, encrypt);
  // TLS 1.3: a resumed connection gets a new ticket only when this asks for renewal (2).
  // Clients keep one ticket per use (RFC 8446 advises against reusing one), so without a
  // new ticket every other connection of theirs would be a full handshake.
  if (encrypt == 0 && result == 1 && SSL_version(ssl) == TLS1_3_VERSION) return 2;
  return result;
}

}  // namespace lb::tls
