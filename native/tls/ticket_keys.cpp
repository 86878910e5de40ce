#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace lb::tls {
namespace {

void wipe(std::vector<TicketKey>& keys) {
  if (!keys.empty()) OPENSSL_cleanse(keys.data(), keys.size() * sizeof(TicketKey));
}

bool set_mac_key(EVP_MAC_CTX* mac_context, const TicketKey& key) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.hmac_key.data()),
                                        key.hmac_key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac_context, params) == 1;
}

}  // namespace

bool TicketKey::generate(TicketKey& out) {
  return RAND_bytes(out.name.data(), static_cast<int>(out.name.size())) == 1 &&
         RAND_priv_bytes(out.hmac_key.data(), static_cast<int>(out.hmac_key.size())) == 1 &&
         RAND_priv_bytes(out.aes_key.data(), static_cast<int>(out.aes_key.size())) == 1;
}

TicketKeyRing& TicketKeyRing::operator=(const TicketKeyRing& other) {
  if (this != &other) {
    TicketKeyRing copy(other);
    keys_.swap(copy.keys_);  // `copy` wipes the old keys on its way out
  }
  return *this;
}

TicketKeyRing& TicketKeyRing::operator=(TicketKeyRing&& other) noexcept {
  if (this != &other) {
    wipe(keys_);
    keys_ = std::move(other.keys_);
  }
  return *this;
}

TicketKeyRing::~TicketKeyRing() { wipe(keys_); }

bool TicketKeyRing::from_keys(std::vector<TicketKey> keys, TicketKeyRing& out, std::string& error) {
  if (keys.empty()) {
    error = "the ticket key ring is empty";
    wipe(keys);
    return false;
  }
  if (keys.size() > max_keys) {
    error = "the ticket key ring holds " + std::to_string(keys.size()) + " keys, at most " + std::to_string(max_keys) +
            " are allowed";
    wipe(keys);
    return false;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (keys[i].name == keys[j].name) {
        error = "ticket keys " + std::to_string(j) + " and " + std::to_string(i) + " have the same name";
        wipe(keys);
        return false;
      }
    }
  }
  TicketKeyRing ring;
  ring.keys_ = std::move(keys);
  out = std::move(ring);
  return true;
}

bool TicketKeyRing::parse(const unsigned char* bytes, size_t length, TicketKeyRing& out, std::string& error) {
  if (length == 0 || length % TicketKey::encoded_size != 0) {
    error = "ticket keys must be a multiple of " + std::to_string(TicketKey::encoded_size) + " bytes, got " +
            std::to_string(length);
    return false;
  }
  std::vector<TicketKey> keys(length / TicketKey::encoded_size);
  for (size_t i = 0; i < keys.size(); ++i) {
    const unsigned char* at = bytes + i * TicketKey::encoded_size;
    std::memcpy(keys[i].name.data(), at, TicketKey::name_size);
    std::memcpy(keys[i].hmac_key.data(), at + TicketKey::name_size, TicketKey::hmac_key_size);
    std::memcpy(keys[i].aes_key.data(), at + TicketKey::name_size + TicketKey::hmac_key_size, TicketKey::aes_key_size);
  }
  return from_keys(std::move(keys), out, error);
}

const TicketKey* TicketKeyRing::find(const unsigned char* name) const {
  for (const TicketKey& key : keys_) {
    if (std::memcmp(key.name.data(), name, TicketKey::name_size) == 0) return &key;
  }
  return nullptr;
}

int apply_ticket_key(const TicketKeyRing* ring, const EVP_CIPHER* cipher, unsigned char* key_name, unsigned char* iv,
                     EVP_CIPHER_CTX* cipher_context, EVP_MAC_CTX* mac_context, int encrypt) {
  if (ring == nullptr || cipher == nullptr) return 0;
  if (encrypt != 0) {
    const TicketKey* key = ring->current();
    if (key == nullptr) return 0;
    std::memcpy(key_name, key->name.data(), TicketKey::name_size);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1) return -1;
    if (EVP_EncryptInit_ex2(cipher_context, cipher, key->aes_key.data(), iv, nullptr) != 1) return -1;
    if (!set_mac_key(mac_context, *key)) return -1;
    return 1;
  }
  const TicketKey* key = ring->find(key_name);
  if (key == nullptr) return 0;
  if (!set_mac_key(mac_context, *key)) return -1;
  if (EVP_DecryptInit_ex2(cipher_context, cipher, key->aes_key.data(), iv, nullptr) != 1) return -1;
  return key == ring->current() ? 1 : 2;
}

}  // namespace lb::tls
