#include "tls/tls_profile.h"

#include "tls/openssl_error.h"

namespace lb::tls {

bool apply_tls_profile(SSL_CTX* context, std::string& error) {
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) != 1) {
    error = describe_failure("cannot limit the protocol to TLS 1.2-1.3");
    return false;
  }
  if (SSL_CTX_set_cipher_list(context, tls12_cipher_list) != 1 ||
      SSL_CTX_set_ciphersuites(context, tls13_cipher_suites) != 1) {
    error = describe_failure("cannot set the cipher suites");
    return false;
  }
  if (SSL_CTX_set1_groups_list(context, key_exchange_groups) != 1) {
    error = describe_failure("cannot set the key exchange groups");
    return false;
  }
  // Level 2: RSA keys of at least 2048 bits, no SHA-1 signatures. The same level whether
  // Node's OpenSSL or Debian's (whose openssl.cnf also says 2) runs the code.
  SSL_CTX_set_security_level(context, 2);
  // Mozilla's intermediate profile leaves the cipher choice to the client (every suite
  // offered is strong; phones without AES hardware pick ChaCha20).
  SSL_CTX_clear_options(
      context, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_ALLOW_CLIENT_RENEGOTIATION | SSL_OP_LEGACY_SERVER_CONNECT);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_max_early_data(context, 0);
  // Release: an idle connection holds no read or write buffer. Partial write and moving
  // buffer: a write may send part of the caller's bytes and be retried from another
  // address, as a non-blocking caller with a ring of buffers does.
  SSL_CTX_set_mode(context,
                   SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return true;
}

}  // namespace lb::tls
