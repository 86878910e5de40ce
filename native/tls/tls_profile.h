// The protocol settings every lb-native SSL_CTX gets, server or client, in one place:
// Mozilla's "intermediate" profile (TLS 1.2 and 1.3; for TLS 1.2 only ECDHE key exchange
// with AES-GCM or ChaCha20-Poly1305, so forward secrecy everywhere; groups X25519, P-256,
// P-384), no renegotiation, no compression, no 0-RTT, and the buffer modes a
// non-blocking, memory-frugal server needs.
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace lb::tls {

inline constexpr const char* tls12_cipher_list =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* tls13_cipher_suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr const char* key_exchange_groups = "X25519:prime256v1:secp384r1";

// Applies the profile. On failure `error` names the setting and OpenSSL's reason.
bool apply_tls_profile(SSL_CTX* context, std::string& error);

}  // namespace lb::tls
