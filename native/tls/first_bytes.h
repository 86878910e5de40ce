// What the first bytes on a TLS port are, before OpenSSL sees them: a TLS handshake
// record, a plaintext HTTP request (so the caller can answer a short 400, nginx's 497
// idea, instead of a TLS alert the client cannot read), or anything else.
#pragma once

#include <string_view>

namespace lb::tls {

enum class FirstBytes {
  tls_handshake,  // a TLS record of type handshake (0x16)
  http_request,   // the bytes so far begin an HTTP method and a space ("GET ", "PO"...)
  other,          // neither: SSLv2, another protocol, noise
};

// `bytes` holds at least one byte. A prefix of a method ("GE") already counts as HTTP: no
// TLS record starts with a letter, so waiting for more would change nothing.
FirstBytes classify_first_bytes(std::string_view bytes);

}  // namespace lb::tls
