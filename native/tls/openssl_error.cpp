#include "tls/openssl_error.h"

#include <openssl/err.h>

namespace lb::tls {

unsigned long oldest_error_code() { return ERR_peek_error(); }

const char* oldest_error_reason() {
  unsigned long code = ERR_peek_error();
  if (code == 0) return nullptr;
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "unrecognised OpenSSL error";
}

const char* take_error_reason(const char* fallback) {
  const char* reason = oldest_error_reason();
  ERR_clear_error();
  return reason != nullptr ? reason : fallback;
}

void clear_errors() { ERR_clear_error(); }

std::string describe_failure(const std::string& what) {
  const char* reason = take_error_reason(nullptr);
  if (reason == nullptr) return what;
  return what + " (OpenSSL: " + reason + ")";
}

}  // namespace lb::tls
