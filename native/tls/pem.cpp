#include "tls/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "tls/openssl_error.h"

namespace lb::tls {
namespace {

BioPtr read_only_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The password callback: never prompt on a terminal, remember that a key was encrypted.
int refuse_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

}  // namespace

bool read_certificates(std::string_view pem, std::vector<X509Ptr>& out, std::string& error) {
  out.clear();
  clear_errors();
  BioPtr bio = read_only_bio(pem);
  if (!bio) {
    error = describe_failure("cannot read the PEM text");
    return false;
  }
  for (;;) {
    bool asked = false;
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, refuse_passphrase, &asked));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  // Running out of blocks ends the loop with "no start line"; anything else is damage.
  unsigned long last = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (!out.empty() && (last == 0 || clean_end)) {
    clear_errors();
    return true;
  }
  if (out.empty() && (last == 0 || clean_end)) {
    clear_errors();
    error = "no certificate found (expected a -----BEGIN CERTIFICATE----- block)";
    return false;
  }
  error = describe_failure("damaged certificate block after certificate " + std::to_string(out.size()));
  return false;
}

EvpPkeyPtr read_private_key(std::string_view pem, std::string& error) {
  // OpenSSL 3's decoders try every block and report a certificate as an "unsupported"
  // key; say plainly that there is no key block at all.
  if (pem.find("PRIVATE KEY-----") == std::string_view::npos) {
    error = "no private key found (expected a -----BEGIN PRIVATE KEY----- block)";
    return nullptr;
  }
  clear_errors();
  BioPtr bio = read_only_bio(pem);
  if (!bio) {
    error = describe_failure("cannot read the PEM text");
    return nullptr;
  }
  bool asked = false;
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked));
  if (key) {
    clear_errors();
    return key;
  }
  if (asked) {
    clear_errors();
    error = "the private key is encrypted (a passphrase-protected key is not supported)";
    return nullptr;
  }
  unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    clear_errors();
    error = "no private key found (expected a -----BEGIN PRIVATE KEY----- block)";
    return nullptr;
  }
  error = describe_failure("damaged private key block");
  return nullptr;
}

}  // namespace lb::tls
