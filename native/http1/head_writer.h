// Writes the heads lb-native forwards: the request head a backend receives and the
// response head a client receives. Framing is always re-written from what the parser
// decided (one Content-Length or chunked), never copied, and hop-by-hop headers are
// dropped, so both sides agree on where each message ends.
#pragma once

#include <string_view>

#include "buffer/byte_buffer.h"
#include "http1/parser.h"

namespace lb::http1 {

// Which headers tell the backend who the client is, and whether to believe the ones
// the client sent (only when lb-native sits behind another proxy you run).
struct ForwardedPolicy {
  enum class Mode : uint8_t {
    none,         // add nothing, pass the client's headers through untouched
    x_forwarded,  // X-Forwarded-For (appended), X-Forwarded-Proto, X-Forwarded-Host
    forwarded,    // RFC 7239 Forwarded: for=...;host=...;proto=...
  };
  Mode mode = Mode::x_forwarded;
  // true: append to what the client sent; false: drop the client's X-Forwarded-*,
  // Forwarded and X-Real-IP headers and write our own.
  bool trust_incoming = false;
};

// What is done with client header names containing '_' (nginx's underscores_in_headers).
// CGI, WSGI and many frameworks read '_' and '-' alike (HTTP_X_FORWARDED_FOR), so such a
// name can pass for a header the proxy writes. Names that read as an identity header
// (X-Forwarded-*, Forwarded, X-Real-IP) once '_' is taken for '-' are dropped whatever
// this says, unless the forwarded mode is none (then identity headers pass untouched).
struct HeaderPolicy {
  enum class Underscores : uint8_t {
    drop,    // forward none of them (nginx's default)
    keep,    // forward them, except identity look-alikes
    reject,  // refuse the request (400): see refuses_header_names
  };
  Underscores underscores = Underscores::drop;
};

// True when `policy` refuses this request because of a header name (reject and a '_').
bool refuses_header_names(const MessageHead& head, const HeaderPolicy& policy);

struct RequestHeadOptions {
  ForwardedPolicy forwarded;
  HeaderPolicy headers;
  std::string_view client_ip;  // the peer address, without port
  std::string_view proto = "http";
  bool upgrade = false;  // forward Connection: upgrade and the Upgrade header
  // mTLS: the header naming the client certificate's verified subject. Any copy the client
  // sent is dropped; `client_subject` (when not empty) is added as its value.
  std::string_view client_subject_header;
  std::string_view client_subject;
};

// False if the head does not fit in `out`.
bool write_request_head(const MessageHead& head, const RequestHeadOptions& options, buffer::ByteBuffer& out);

struct ResponseHeadOptions {
  bool close_client = false;          // add "Connection: close"
  bool client_keep_alive_10 = false;  // HTTP/1.0 client kept alive: "Connection: keep-alive"
  bool upgrade = false;               // 101: forward Connection: upgrade and the Upgrade header
  std::string_view extra_header;      // a complete header line ("Name: value\r\n") to add
  bool omit_framing = false;          // the body will be de-chunked and ended by a close
};

// A redirect of our own: `status` with Location = base_url + path, no body.
bool write_redirect(uint16_t status, std::string_view base_url, std::string_view path, bool close_client,
                    bool client_keep_alive_10, buffer::ByteBuffer& out);

// For an absolute-form target ("http://host:port/path?q"), the authority and the
// origin-form path; false for any other form.
bool split_absolute_form(std::string_view target, std::string_view& authority, std::string_view& path);

bool write_response_head(const MessageHead& head, const ResponseHeadOptions& options, buffer::ByteBuffer& out);

}  // namespace lb::http1
