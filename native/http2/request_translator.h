// Turns the header fields of one HTTP/2 request into the HTTP/1.1 request head a backend
// receives, refusing everything RFC 9113 §8.2-8.3 calls malformed: the h2-to-h1
// downgrade is where requests get smuggled (a CR LF in a value becomes a second header
// line, a second Content-Length or a Transfer-Encoding changes the framing), so anything
// that HTTP/1.1 could read differently is an error, never passed on or repaired.
//
// Fields are added one at a time as HPACK decodes them, then finish() writes the head.
// The head is checked once more by http1's request parser, the one that reads every
// HTTP/1.1 request lb-native forwards: what finish() returns always parses as exactly one
// request whose method, target and Host are the pseudo-headers'.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http2/session_limits.h"

namespace lb::http2 {

enum class RequestError : uint8_t {
  none,
  // Malformed (RFC 9113 §8.1.1): the stream is reset with PROTOCOL_ERROR.
  uppercase_name,
  bad_name,                    // empty, or a byte that is not a token character
  bad_value,                   // NUL, CR, LF, another control byte, or leading/trailing SP/HTAB
  connection_specific_header,  // connection, keep-alive, proxy-connection, transfer-encoding, upgrade
  te_not_trailers,             // TE with a value other than "trailers"
  pseudo_after_regular,
  unknown_pseudo,  // includes :protocol (extended CONNECT is not offered) and response pseudo-headers
  repeated_pseudo,
  missing_pseudo,  // :method, :scheme or :path (or :authority and Host both) missing
  bad_method,
  bad_scheme,  // not http or https
  bad_path,    // empty, not origin-form, or a byte an HTTP/1.1 target may not hold
  bad_authority,
  host_differs_from_authority,
  bad_content_length,           // not digits, or several that differ
  content_length_without_body,  // END_STREAM on HEADERS with a non-zero content-length
  not_http1_expressible,        // the head http1's parser refuses (the last check)
  // Answered with a status instead.
  header_list_too_large,  // 431
  too_many_fields,        // 431
  connect_not_supported,  // 501 (tunnels over HTTP/2 are not offered)
};

const char* to_string(RequestError error);
// 431, 501, or 0 for errors answered with a stream reset.
uint16_t status_for(RequestError error);

// The translated request.
struct RequestHead {
  std::string http1;          // "METHOD target HTTP/1.1\r\nHost: ...\r\n...\r\n"
  bool has_body = false;      // HEADERS did not end the stream
  bool chunked_body = false;  // the head says Transfer-Encoding: chunked (no content-length given)
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool is_head = false;      // HEAD: the response has no body whatever it says
  size_t target_offset = 0;  // where the request-target (the :path) sits in http1
  size_t target_length = 0;

  std::string_view target() const { return std::string_view(http1).substr(target_offset, target_length); }
};

class RequestTranslator {
 public:
  explicit RequestTranslator(const SessionLimits& limits) : limits_(&limits) {}

  // Adds one field, in the order received. False when the request is refused (error()
  // says why); later calls are ignored.
  bool add(std::string_view name, std::string_view value);
  // Writes the head once the header block is complete; `end_stream`: the HEADERS frame
  // ended the stream (no body).
  bool finish(bool end_stream, RequestHead& out);

  RequestError error() const { return error_; }
  // Bytes held for this request (the fields kept so far).
  size_t held_bytes() const {
    return fields_.capacity() + method_.capacity() + path_.capacity() + authority_.capacity() + host_.capacity() +
           cookie_.capacity();
  }

 private:
  bool fail(RequestError error);
  bool add_pseudo(std::string_view name, std::string_view value);

  const SessionLimits* limits_;
  RequestError error_ = RequestError::none;
  uint32_t field_count_ = 0;
  uint64_t list_bytes_ = 0;
  bool seen_regular_ = false;
  bool seen_scheme_ = false;
  bool seen_authority_ = false;
  bool seen_host_ = false;
  bool has_content_length_ = false;
  uint64_t content_length_ = 0;
  std::string method_;
  std::string path_;
  std::string authority_;
  std::string host_;
  std::string cookie_;  // crumbs joined with "; " (RFC 9113 §8.2.3)
  std::string fields_;  // the other fields, already as "name: value\r\n" lines
};

}  // namespace lb::http2
