#include "tls/first_bytes.h"

#include <algorithm>
#include <array>

namespace lb::tls {

FirstBytes classify_first_bytes(std::string_view bytes) {
  if (bytes.empty()) return FirstBytes::other;
  if (static_cast<unsigned char>(bytes[0]) == 0x16) return FirstBytes::tls_handshake;
  static constexpr std::array<std::string_view, 10> methods = {"GET ",     "HEAD ",  "POST ",    "PUT ",   "DELETE ",
                                                               "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "PRI "};
  for (std::string_view method : methods) {
    size_t common = std::min(method.size(), bytes.size());
    if (bytes.substr(0, common) == method.substr(0, common)) return FirstBytes::http_request;
  }
  return FirstBytes::other;
}

}  // namespace lb::tls
