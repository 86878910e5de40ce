// ACME TLS-ALPN-01 (RFC 8737) on a TLS listener: the ALPN extension check, the challenge
// table (what it refuses), and real handshakes over socket pairs: a validator offering
// acme-tls/1 for a name with a pending challenge gets that challenge certificate and
// acme-tls/1; for any other name acme-tls/1 is refused; ordinary clients are unaffected;
// a listener with no certificate yet answers challenges only.
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "tests/test_framework.h"
#include "tests/tls_test_support.h"
#include "tls/acme_alpn_challenges.h"
#include "tls/alpn.h"
#include "tls/tls_stream.h"

namespace {

using namespace lb::tls;
using namespace lb::tls_testing;

std::string pem_text(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string pem_text(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

struct ChallengeOptions {
  bool with_identifier = true;
  bool critical = true;
};

// A self-signed challenge certificate for `name` as an ACME client makes one: CN and SAN
// the name, and (unless told otherwise) the critical acmeIdentifier extension holding a
// 32-byte digest.
AcmeAlpnChallenge challenge_for(const std::string& name, ChallengeOptions options = {}) {
  EvpPkeyPtr key = make_key(KeyKind::ecdsa);
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), subject);
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + name;
  X509_EXTENSION* names = X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert.get(), names, -1);
  X509_EXTENSION_free(names);
  if (options.with_identifier) {
    unsigned char der[34] = {0x04, 0x20};
    RAND_bytes(der + 2, 32);
    ASN1_OBJECT* oid = OBJ_txt2obj(acme_identifier_oid, 1);
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(value, der, sizeof(der));
    X509_EXTENSION* identifier = X509_EXTENSION_create_by_OBJ(nullptr, oid, options.critical ? 1 : 0, value);
    X509_add_ext(cert.get(), identifier, -1);
    X509_EXTENSION_free(identifier);
    ASN1_OCTET_STRING_free(value);
    ASN1_OBJECT_free(oid);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return {name, pem_text(cert.get()), pem_text(key.get())};
}

std::string table_error(const std::vector<AcmeAlpnChallenge>& challenges) {
  std::string error;
  auto table = AcmeAlpnChallenges::create(challenges, error);
  return table ? std::string("(created)") : error;
}

bool contains(const std::string& text, const std::string& part) {
  bool found = text.find(part) != std::string::npos;
  if (!found) std::fprintf(stderr, "  '%s' does not contain '%s'\n", text.c_str(), part.c_str());
  return found;
}

std::string extension_of(std::vector<std::string> protocols) {
  std::string list;
  for (const std::string& protocol : protocols) {
    list.push_back(static_cast<char>(protocol.size()));
    list += protocol;
  }
  std::string extension;
  extension.push_back(static_cast<char>(list.size() >> 8));
  extension.push_back(static_cast<char>(list.size() & 0xff));
  return extension + list;
}

struct Seen {
  Outcome outcome;
  std::string alpn;         // what the server selected
  std::string common_name;  // of the certificate the client was shown
  bool acme_identifier = false;
};

Seen handshake(const std::shared_ptr<const TlsServerContext>& context,
               const std::shared_ptr<const AcmeAlpnChallenges>& challenges, const std::string& server_name,
               std::vector<std::string> alpn, int max_version = 0) {
  SocketPair sockets;
  auto server = TlsStream::accept(context, sockets.server, nullptr, challenges);
  RawClient client(sockets.client, {.server_name = server_name, .alpn = std::move(alpn), .max_version = max_version});
  Seen seen{drive(*server, step_of(client)), "", "", false};
  if (seen.outcome != Outcome::both_done) return seen;
  seen.alpn = std::string(server->alpn());
  seen.common_name = client.peer_common_name();
  X509Ptr peer(SSL_get1_peer_certificate(client.ssl()));
  seen.acme_identifier = peer && has_acme_identifier(peer.get());
  return seen;
}

std::shared_ptr<const AcmeAlpnChallenges> table_of(std::vector<AcmeAlpnChallenge> challenges) {
  std::string error;
  auto table = AcmeAlpnChallenges::create(challenges, error);
  if (!table) std::fprintf(stderr, "  challenge table: %s\n", error.c_str());
  return table;
}

std::shared_ptr<const TlsServerContext> listener_context() {
  TlsServerSettings settings;
  settings.certificates = {pem_of(fixtures().example_ecdsa)};
  settings.alpn_protocols = {"h2", "http/1.1"};
  return server_context(settings);
}

}  // namespace

TEST(acme_alpn_extension_offers_finds_the_protocol_in_a_well_formed_extension_only) {
  CHECK(extension_offers(extension_of({"acme-tls/1"}), acme_tls_protocol));
  CHECK(extension_offers(extension_of({"h2", "acme-tls/1"}), acme_tls_protocol));
  CHECK(!extension_offers(extension_of({"h2", "http/1.1"}), acme_tls_protocol));
  CHECK(!extension_offers(extension_of({"acme-tls/10"}), acme_tls_protocol));
  CHECK(!extension_offers("", acme_tls_protocol));
  CHECK(!extension_offers(std::string("\0\0", 2), acme_tls_protocol));
  // The outer length must cover the list exactly, and each entry must fit.
  std::string longer = extension_of({"acme-tls/1"});
  longer[1] = static_cast<char>(longer[1] + 1);
  CHECK(!extension_offers(longer, acme_tls_protocol));
  std::string overrun = extension_of({"h2", "acme-tls/1"});
  overrun[2] = 0x30;  // the first entry claims more bytes than there are
  CHECK(!extension_offers(overrun, acme_tls_protocol));
  std::string empty_entry = extension_of({"h2"}) + std::string(1, '\0');
  empty_entry[1] = static_cast<char>(empty_entry[1] + 1);
  CHECK(!extension_offers(empty_entry, acme_tls_protocol));
}

TEST(acme_alpn_table_refuses_entries_that_cannot_answer_a_challenge) {
  const Fixtures& f = fixtures();
  CHECK_EQ(table_error({}), std::string("(created)"));
  CHECK_EQ(table_error({challenge_for("shop.test")}), std::string("(created)"));
  // An ordinary certificate must never be shown as a challenge answer.
  CHECK(contains(table_error({{"example.com", f.example_ecdsa.cert_pem, f.example_ecdsa.key_pem}}),
                 "challenge for 'example.com': the certificate has no critical acmeIdentifier extension"));
  CHECK(contains(table_error({challenge_for("shop.test", {.with_identifier = true, .critical = false})}),
                 "no critical acmeIdentifier"));
  AcmeAlpnChallenge mismatched = challenge_for("shop.test");
  mismatched.key_pem = challenge_for("shop.test").key_pem;
  CHECK(contains(table_error({mismatched}), "the private key does not match"));
  AcmeAlpnChallenge other = challenge_for("shop.test");
  other.name = "www.shop.test";
  CHECK(contains(table_error({other}), "challenge for 'www.shop.test': the certificate does not name it"));
  AcmeAlpnChallenge again = challenge_for("shop.test");
  again.name = "SHOP.test.";
  CHECK(contains(table_error({challenge_for("shop.test"), again}), "listed twice"));
  AcmeAlpnChallenge wildcard = challenge_for("shop.test");
  wildcard.name = "*.shop.test";
  CHECK(contains(table_error({wildcard}), "expected a DNS name (no wildcard)"));
  CHECK(contains(table_error({{"shop.test", "not pem", "not pem"}}), "challenge for 'shop.test': "));
}

TEST(acme_alpn_validator_gets_the_challenge_certificate_and_acme_tls_for_a_pending_name) {
  auto context = listener_context();
  auto table = table_of({challenge_for("shop.test"), challenge_for("www.shop.test")});
  CHECK(table != nullptr);
  CHECK_EQ(table->size(), size_t(2));
  for (int version : {0, TLS1_2_VERSION}) {
    Seen seen = handshake(context, table, "WWW.Shop.Test", {"acme-tls/1"}, version);
    CHECK(seen.outcome == Outcome::both_done);
    CHECK_EQ(seen.alpn, std::string("acme-tls/1"));
    CHECK_EQ(seen.common_name, std::string("www.shop.test"));
    CHECK(seen.acme_identifier);
  }
}

TEST(acme_alpn_is_refused_for_a_name_without_a_pending_challenge) {
  auto context = listener_context();
  auto table = table_of({challenge_for("shop.test")});
  // A name the listener serves, but no challenge for it: no ordinary certificate with acme-tls/1.
  CHECK(handshake(context, table, "example.com", {"acme-tls/1"}).outcome != Outcome::both_done);
  CHECK(handshake(context, table, "other.test", {"acme-tls/1"}).outcome != Outcome::both_done);
  CHECK(handshake(context, table, "", {"acme-tls/1"}).outcome != Outcome::both_done);
  // No table at all (nothing pending): refused the same way.
  CHECK(handshake(context, nullptr, "shop.test", {"acme-tls/1"}).outcome != Outcome::both_done);
}

TEST(acme_alpn_ordinary_clients_are_unaffected_while_challenges_are_pending) {
  auto context = listener_context();
  auto table = table_of({challenge_for("shop.test"), challenge_for("example.com")});
  Seen h2 = handshake(context, table, "example.com", {"h2", "http/1.1"});
  CHECK(h2.outcome == Outcome::both_done);
  CHECK_EQ(h2.alpn, std::string("h2"));
  CHECK_EQ(h2.common_name, std::string("example ecdsa"));
  CHECK(!h2.acme_identifier);
  Seen plain = handshake(context, table, "shop.test", {});
  CHECK(plain.outcome == Outcome::both_done);
  CHECK_EQ(plain.alpn, std::string(""));
  CHECK_EQ(plain.common_name, std::string("example ecdsa"));
}

TEST(acme_alpn_a_listener_awaiting_its_first_certificate_answers_challenges_only) {
  TlsServerSettings settings;
  settings.awaiting_certificate = true;
  settings.alpn_protocols = {"h2", "http/1.1"};
  auto context = server_context(settings);
  auto table = table_of({challenge_for("shop.test")});
  Seen challenge = handshake(context, table, "shop.test", {"acme-tls/1"});
  CHECK(challenge.outcome == Outcome::both_done);
  CHECK_EQ(challenge.alpn, std::string("acme-tls/1"));
  CHECK(challenge.acme_identifier);
  CHECK(handshake(context, table, "shop.test", {"h2"}).outcome != Outcome::both_done);
  CHECK(handshake(context, table, "other.test", {"acme-tls/1"}).outcome != Outcome::both_done);
  // Without awaiting_certificate, no certificate is still a mistake.
  std::string error;
  settings.awaiting_certificate = false;
  CHECK(TlsServerContext::create(settings, error) == nullptr);
  CHECK_EQ(error, std::string("no certificate given"));
}
