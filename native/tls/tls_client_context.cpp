#include "tls/tls_client_context.h"

#include <arpa/inet.h>
#include <openssl/x509_vfy.h>

#include "tls/alpn.h"
#include "tls/host_name.h"
#include "tls/openssl_error.h"
#include "tls/pem.h"
#include "tls/socket_bio.h"
#include "tls/tls_profile.h"

namespace lb::tls {
namespace {

// "10.0.0.1", "::1" or "[::1]" -> the address text without brackets; empty if not an IP.
std::string ip_literal(std::string_view name) {
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  std::string text(name);
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1) {
    return text;
  }
  return {};
}

}  // namespace

std::shared_ptr<const TlsClientContext> TlsClientContext::create(const TlsClientSettings& settings,
                                                                 std::string& error) {
  clear_errors();
  std::shared_ptr<TlsClientContext> out(new TlsClientContext());
  out->verify_peer_ = settings.verify_peer;
  out->bio_method_ = make_socket_bio_method();
  out->context_.reset(SSL_CTX_new(TLS_client_method()));
  if (!out->bio_method_ || !out->context_) {
    error = describe_failure("cannot create the TLS client context");
    return nullptr;
  }
  SSL_CTX* ctx = out->context_.get();
  if (!apply_tls_profile(ctx, error)) return nullptr;
  std::string wire;
  if (!encode_alpn(settings.alpn_protocols, wire, error)) return nullptr;
  if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned int>(wire.size())) != 0) {
    error = describe_failure("cannot set the ALPN protocols");
    return nullptr;
  }
  if (settings.verify_peer) {
    if (settings.ca_pem.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        error = describe_failure("cannot load the default CA locations");
        return nullptr;
      }
    } else {
      std::vector<X509Ptr> cas;
      std::string problem;
      if (!read_certificates(settings.ca_pem, cas, problem)) {
        error = "CA: " + problem;
        return nullptr;
      }
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      for (size_t i = 0; i < cas.size(); ++i) {
        if (X509_STORE_add_cert(store, cas[i].get()) != 1) {
          error = describe_failure("CA certificate " + std::to_string(i) + ": cannot be used");
          return nullptr;
        }
      }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  // Sessions are kept by the caller per backend (SSL_get1_session), not in a cache here.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  clear_errors();
  return out;
}

SslPtr TlsClientContext::new_connection(std::string_view server_name, SSL_SESSION* session, std::string& error) const {
  clear_errors();
  SslPtr ssl(SSL_new(context_.get()));
  if (!ssl) {
    error = describe_failure("cannot create an SSL");
    return nullptr;
  }
  SSL_set_connect_state(ssl.get());
  if (!server_name.empty()) {
    std::string ip = ip_literal(server_name);
    if (!ip.empty()) {
      if (verify_peer_ && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), ip.c_str()) != 1) {
        error = describe_failure("cannot verify against the address " + ip);
        return nullptr;
      }
    } else {
      std::string host;
      if (!normalize_host_name(server_name, host) || is_wildcard(host)) {
        // (Appended step by step: GCC 12 warns falsely, -Wrestrict, on "..." + std::string.)
        error.assign(1, '\'').append(server_name).append("' is neither a host name nor an IP address");
        return nullptr;
      }
      if (SSL_set_tlsext_host_name(ssl.get(), host.c_str()) != 1) {
        error = describe_failure("cannot set the server name " + host);
        return nullptr;
      }
      if (verify_peer_) {
        SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(ssl.get(), host.c_str()) != 1) {
          error = describe_failure("cannot verify against the name " + host);
          return nullptr;
        }
      }
    }
  }
  if (session != nullptr && SSL_set_session(ssl.get(), session) != 1) {
    clear_errors();  // a session that does not fit: connect with a full handshake
  }
  return ssl;
}

}  // namespace lb::tls
