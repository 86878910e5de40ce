// Building a TlsServerContext: every configuration mistake is refused with a message that
// names the certificate and the reason; the SNI contexts are shared where names agree.
#include <openssl/pem.h>

#include <string>

#include "tests/test_framework.h"
#include "tests/tls_test_support.h"
#include "tls/tls_server_context.h"

namespace {

using namespace lb::tls;
using namespace lb::tls_testing;

std::string creation_error(const TlsServerSettings& settings) {
  std::string error;
  auto context = TlsServerContext::create(settings, error);
  return context ? std::string("(created)") : error;
}

bool contains(const std::string& text, const std::string& part) {
  bool found = text.find(part) != std::string::npos;
  if (!found) std::fprintf(stderr, "  '%s' does not contain '%s'\n", text.c_str(), part.c_str());
  return found;
}

}  // namespace

TEST(tls_server_context_refuses_a_key_that_does_not_match) {
  const Fixtures& f = fixtures();
  TlsServerSettings settings;
  settings.certificates = {pem_of(f.fallback), {f.example_ecdsa.cert_pem, f.wildcard.key_pem}};
  CHECK(contains(creation_error(settings), "certificate 1: the private key does not match the certificate"));
}

TEST(tls_server_context_refuses_damaged_or_missing_pem) {
  const Fixtures& f = fixtures();
  TlsServerSettings settings;
  settings.certificates = {{"not a certificate", f.fallback.key_pem}};
  CHECK(contains(creation_error(settings), "certificate 0: no certificate found"));

  std::string damaged = f.fallback.cert_pem;
  damaged[damaged.size() / 2] = '!';
  settings.certificates = {{damaged, f.fallback.key_pem}};
  CHECK(contains(creation_error(settings), "certificate 0: damaged certificate block"));

  settings.certificates = {{f.fallback.cert_pem, f.fallback.cert_pem}};
  CHECK(contains(creation_error(settings), "certificate 0: no private key found"));

  settings.certificates = {};
  CHECK(contains(creation_error(settings), "no certificate given"));
}

TEST(tls_server_context_refuses_an_encrypted_key_without_prompting) {
  const Fixtures& f = fixtures();
  BioPtr bio(BIO_new(BIO_s_mem()));
  const char* passphrase = "secret";
  PEM_write_bio_PrivateKey(bio.get(), f.fallback.key.get(), EVP_aes_128_cbc(),
                           reinterpret_cast<const unsigned char*>(passphrase), 6, nullptr, nullptr);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  TlsServerSettings settings;
  settings.certificates = {{f.fallback.cert_pem, std::string(data, static_cast<size_t>(length))}};
  CHECK(contains(creation_error(settings), "certificate 0: the private key is encrypted"));
}

TEST(tls_server_context_refuses_a_weak_rsa_key_with_openssls_reason) {
  const Fixtures& f = fixtures();
  Credential weak = make_certificate(f.ca, {"weak", {"weak.test"}, {}, KeyKind::rsa}, make_key(KeyKind::rsa, 1024));
  TlsServerSettings settings;
  settings.certificates = {pem_of(f.fallback), pem_of(weak)};
  std::string error = creation_error(settings);
  CHECK(contains(error, "certificate 1: the certificate cannot be used"));
  CHECK(contains(error, "ee key too small"));
}

TEST(tls_server_context_refuses_a_certificate_that_could_never_be_served) {
  const Fixtures& f = fixtures();
  TlsServerSettings settings;
  // Same names, same key type: the second is shadowed by the first.
  settings.certificates = {pem_of(f.example_ecdsa), pem_of(f.example_ecdsa)};
  CHECK(contains(creation_error(settings), "certificate 1 is never served"));
  // A certificate without a DNS name may only be the default (this one's CN is no host
  // name, and it has no subjectAltName).
  Credential nameless = make_certificate(f.ca, {"no host here", {}, {}, KeyKind::ecdsa});
  settings.certificates = {pem_of(nameless), pem_of(f.fallback)};
  CHECK_EQ(creation_error(settings), std::string("(created)"));
  settings.certificates = {pem_of(f.fallback), pem_of(nameless)};
  CHECK(contains(creation_error(settings), "certificate 1: names no DNS host"));
}

TEST(tls_server_context_checks_alpn_client_verify_and_timeout) {
  const Fixtures& f = fixtures();
  TlsServerSettings settings;
  settings.certificates = {pem_of(f.fallback)};
  settings.alpn_protocols = {};
  CHECK(contains(creation_error(settings), "ALPN protocol list is empty"));
  settings.alpn_protocols = {"http/1.1"};
  settings.client_verify = ClientVerify::required;
  CHECK(contains(creation_error(settings), "needs the client CA certificates"));
  settings.client_ca_pem = "junk";
  CHECK(contains(creation_error(settings), "client CA: no certificate found"));
  settings.client_ca_pem = f.ca.cert_pem;
  CHECK_EQ(creation_error(settings), std::string("(created)"));
  settings.session_timeout_seconds = 0;
  CHECK(contains(creation_error(settings), "session timeout"));
}

TEST(tls_server_context_shares_one_ssl_ctx_per_set_of_certificates) {
  const Fixtures& f = fixtures();
  // RSA and ECDSA for the same two names: one context for both names.
  auto paired = server_context({&f.example_rsa, &f.example_ecdsa});
  CHECK_EQ(paired->context_count(), size_t{1});
  CHECK(paired->context_for("example.com") == paired->context_for("www.example.com"));

  auto several = server_context({&f.fallback, &f.example_rsa, &f.example_ecdsa, &f.wildcard});
  CHECK_EQ(several->context_count(), size_t{3});
  CHECK(several->context_for("default.test") == several->default_context());
  CHECK(several->context_for("unknown.test") == several->default_context());
  CHECK(several->context_for("a.wild.test") != several->default_context());
  CHECK(several->context_for("a.wild.test") == several->context_for("B.Wild.Test"));
  CHECK(several->context_for("a.b.wild.test") == several->default_context());
  CHECK(several->context_for("www.example.com") != several->context_for("a.wild.test"));
}

TEST(tls_server_context_fills_a_missing_key_type_from_a_covering_wildcard) {
  const Fixtures& f = fixtures();
  // An ECDSA certificate for api.corp.test and an RSA wildcard for *.corp.test: a client
  // asking for api.corp.test gets both to choose from, another name only the wildcard.
  Credential api = make_certificate(f.ca, {"api", {"api.corp.test"}, {}, KeyKind::ecdsa});
  Credential star = make_certificate(f.ca, {"star", {"*.corp.test"}, {}, KeyKind::rsa},
                                     EvpPkeyPtr(EVP_PKEY_dup(f.example_rsa.key.get())));
  auto context = server_context({&f.fallback, &api, &star});
  CHECK_EQ(context->context_count(), size_t{3});
  SSL_CTX* api_context = context->context_for("api.corp.test");
  SSL_CTX* other_context = context->context_for("www.corp.test");
  CHECK(api_context != other_context);
  // Both certificates sit in the api context: one per key type.
  int slots = 0;
  for (int rc = SSL_CTX_set_current_cert(api_context, SSL_CERT_SET_FIRST); rc == 1;
       rc = SSL_CTX_set_current_cert(api_context, SSL_CERT_SET_NEXT)) {
    if (SSL_CTX_get0_certificate(api_context) != nullptr) ++slots;
  }
  CHECK_EQ(slots, 2);
}
