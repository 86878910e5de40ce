// Session ticket keys: a ring of 80-byte keys (16-byte name, 32-byte HMAC-SHA256 key,
// 32-byte AES-256-CBC key; the layout of nginx's ssl_session_ticket_key files). The first
// key encrypts new tickets; every key decrypts, so a ticket sealed with a key that was
// rotated out of first place still resumes (and is renewed with the current key).
//
// A ring is a plain value: each worker keeps its own copy and hands a pointer to each
// connection it accepts, so the ticket callback reads only its own thread's copy: no
// lock, nothing shared. Processes (and workers) given the same keys resume each other's
// tickets.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lb::tls {

struct TicketKey {
  static constexpr size_t name_size = 16;
  static constexpr size_t hmac_key_size = 32;
  static constexpr size_t aes_key_size = 32;
  static constexpr size_t encoded_size = name_size + hmac_key_size + aes_key_size;  // 80

  std::array<unsigned char, name_size> name{};
  std::array<unsigned char, hmac_key_size> hmac_key{};
  std::array<unsigned char, aes_key_size> aes_key{};

  // A fresh key from OpenSSL's random generator; false if it failed.
  static bool generate(TicketKey& out);
};

class TicketKeyRing {
 public:
  // A bound on the keys kept: enough for any rotation scheme, and lookup stays a short scan.
  static constexpr size_t max_keys = 16;

  TicketKeyRing() = default;
  TicketKeyRing(const TicketKeyRing& other) : keys_(other.keys_) {}
  TicketKeyRing(TicketKeyRing&& other) noexcept : keys_(std::move(other.keys_)) {}
  TicketKeyRing& operator=(const TicketKeyRing& other);
  TicketKeyRing& operator=(TicketKeyRing&& other) noexcept;
  ~TicketKeyRing();  // wipes the key bytes

  // The ring from concatenated 80-byte keys, the first one current. Fails on an empty
  // input, a length that is not a multiple of 80, more than max_keys keys, or two keys
  // with the same name.
  static bool parse(const unsigned char* bytes, size_t length, TicketKeyRing& out, std::string& error);
  // The ring of `keys`, keys[0] current; same checks as parse().
  static bool from_keys(std::vector<TicketKey> keys, TicketKeyRing& out, std::string& error);

  // The key new tickets are sealed with, or nullptr for an empty ring (no tickets issued).
  const TicketKey* current() const { return keys_.empty() ? nullptr : &keys_.front(); }
  // The key named `name` (16 bytes), or nullptr.
  const TicketKey* find(const unsigned char* name) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<TicketKey> keys_;
};

// The body of OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb) for
// `ring`, with `cipher` the AES-256-CBC fetched once by the context. Encrypting: seals with
// the current key (returns 1), or issues no ticket for an empty or missing ring (0).
// Decrypting: 1 for the current key, 2 for an older key (OpenSSL then issues a new
// ticket), 0 for an unknown key name (a full handshake follows), -1 on an internal error.
int apply_ticket_key(const TicketKeyRing* ring, const EVP_CIPHER* cipher, unsigned char* key_name, unsigned char* iv,
                     EVP_CIPHER_CTX* cipher_context, EVP_MAC_CTX* mac_context, int encrypt);

}  // namespace lb::tls
