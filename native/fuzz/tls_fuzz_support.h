// What the TLS fuzzers share (header only: CMake builds each *_fuzzer.cpp on its own): a
// listener's server context with a certificate made in memory once per process, and a
// non-blocking socketpair standing for a client connection.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "tls/openssl_ptr.h"
#include "tls/ticket_keys.h"
#include "tls/tls_server_context.h"

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace lb::fuzzing {

inline std::string pem_of_bio(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

// A self-signed ECDSA P-256 certificate for "fuzz.test", made in memory (no key is ever
// committed).
inline lb::tls::TlsCertificatePem make_certificate() {
  lb::tls::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  FUZZ_CHECK(key != nullptr);
  lb::tls::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("fuzz.test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  FUZZ_CHECK(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);

  lb::tls::TlsCertificatePem pem;
  lb::tls::BioPtr cert_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  pem.cert_chain_pem = pem_of_bio(cert_bio.get());
  lb::tls::BioPtr key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  pem.key_pem = pem_of_bio(key_bio.get());
  return pem;
}

// What a listener has: one server context and a worker's ticket key ring, made once per
// process (key generation is the slow part).
struct Listener {
  std::shared_ptr<const lb::tls::TlsServerContext> context;
  lb::tls::TicketKeyRing ring;
};

inline const Listener& listener() {
  static const Listener* made = [] {
    auto* out = new Listener();
    lb::tls::TlsServerSettings settings;
    settings.certificates.push_back(make_certificate());
    settings.alpn_protocols = {"h2", "http/1.1"};
    std::string error;
    out->context = lb::tls::TlsServerContext::create(settings, error);
    if (!out->context) {
      std::fprintf(stderr, "tls fuzz support: server context: %s\n", error.c_str());
      std::abort();
    }
    lb::tls::TicketKey key;
    FUZZ_CHECK(lb::tls::TicketKey::generate(key));
    FUZZ_CHECK(lb::tls::TicketKeyRing::from_keys({key}, out->ring, error));
    return out;
  }();
  return *made;
}

struct SocketPair {
  int server = -1;
  int client = -1;
  SocketPair() {
    int fds[2];
    FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    server = fds[0];
    client = fds[1];
  }
  ~SocketPair() {
    ::close(server);
    ::close(client);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

}  // namespace lb::fuzzing
