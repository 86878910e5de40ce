// The HTTP/2 header fields of a response lb-native relays, from the HTTP/1.1 response
// head a backend sent (parsed by http1's parser): ":status" first, names lower-cased,
// connection-specific fields dropped (RFC 9113 §8.2.2: Connection and everything it names,
// Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE, Trailer), and framing
// re-stated: content-length only where the body is exactly that long.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "http1/parser.h"

namespace lb::http2 {

class ResponseFields {
 public:
  // A final (>= 200) or informational (100, 102, 103) response head. False for 101 (no
  // protocol switch over HTTP/2) or a status outside 100-999.
  bool build(const http1::MessageHead& head, bool request_was_head);
  // Trailer fields: names lower-cased, connection-specific and framing fields dropped.
  void build_trailers(std::span<const http1::HeaderField> trailers);

  const nghttp2_nv* data() const { return fields_.data(); }
  size_t size() const { return fields_.size(); }
  // The response has no body whatever the backend sends (HEAD, 204, 304): HEADERS ends it.
  bool bodiless() const { return bodiless_; }
  bool informational() const { return informational_; }

 private:
  void add(std::string_view name, std::string_view value);
  void point_fields();

  std::string storage_;
  std::vector<std::pair<size_t, size_t>> spans_;  // name offset, value offset (sizes follow)
  std::vector<nghttp2_nv> fields_;
  std::vector<size_t> sizes_;
  bool bodiless_ = false;
  bool informational_ = false;
};

// True for a field name HTTP/2 forbids (connection-specific), compared case-insensitively.
bool is_connection_specific_field(std::string_view name);

}  // namespace lb::http2
