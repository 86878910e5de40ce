// The one HTTP/1.x message-head parser of lb-native, for requests and responses.
//
// A pure function over bytes: it knows nothing of sockets or buffers it does not own.
// Header names and values are views into the caller's bytes, valid while those bytes are.
// It is strict on purpose (a proxy that is lenient where a backend is strict, or the other
// way round, lets requests be smuggled): anything ambiguous is an error, never a guess.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lb::http1 {

// Limits a head must stay within. Exceeding one is an error with its own status.
struct HeadLimits {
  uint32_t max_start_line = 8192;   // request line or status line, without CRLF (414 / 502)
  uint32_t max_head_bytes = 16384;  // whole head including the final CRLF CRLF (431 / 502)
  uint32_t max_header_count = 100;  // header fields (431 / 502)
};

enum class ParseStatus : uint8_t { need_more, done, error };

// Why a head was refused. to_status() maps each to the status a client is answered with.
enum class ParseError : uint8_t {
  none,
  bad_start_line,              // malformed request line / status line
  bad_method,                  // method is not a token
  bad_target,                  // empty target, or a byte that may not appear in one
  bad_version,                 // not "HTTP/" DIGIT "." DIGIT
  unsupported_version,         // well formed but not HTTP/1.0 or HTTP/1.1 (505)
  start_line_too_long,         // over max_start_line (414 for requests)
  head_too_large,              // over max_head_bytes (431)
  too_many_headers,            // over max_header_count (431)
  bare_lf,                     // LF not preceded by CR anywhere in the head
  bare_cr,                     // CR not followed by LF
  obs_fold,                    // a line starting with SP or HTAB (obsolete line folding)
  bad_header_name,             // empty name, or a byte that is not a tchar
  space_before_colon,          // whitespace between a field name and the colon
  missing_colon,               // a header line without a colon
  bad_header_value,            // NUL, CR, LF or another control character (other than HTAB) in a value
  bad_content_length,          // not plain digits, empty, or overflows uint64
  conflicting_content_length,  // several Content-Length values that differ (identical ones fold)
  content_length_with_transfer_encoding,
  bad_transfer_encoding,        // last coding is not chunked, chunked twice, or an unknown coding
  transfer_encoding_in_http10,  // Transfer-Encoding in an HTTP/1.0 message
  missing_host,                 // HTTP/1.1 request without Host
  duplicate_host,               // several Host headers
  bad_host,                     // Host value that is not a valid authority (contains SP, '/', '@', ...)
  bad_status,                   // status code not three digits, or under 100
};

// HTTP status a client gets for a request whose head failed with `e` (400, 414, 431, 505).
uint16_t to_status(ParseError e);
const char* to_string(ParseError e);

enum class Method : uint8_t { get, head, post, put, delete_, options, trace, connect, patch, other };

// How the body after this head is delimited.
enum class BodyKind : uint8_t {
  none,            // no body (requests without CL/TE; HEAD responses; 1xx, 204, 304)
  content_length,  // exactly content_length bytes (may be 0)
  chunked,         // Transfer-Encoding: chunked
  until_close,     // responses only: everything until the backend closes
};

struct HeaderField {
  std::string_view name;
  std::string_view value;  // leading and trailing SP/HTAB trimmed
  // True for headers a proxy must not forward: Connection, Keep-Alive, Proxy-Connection,
  // TE, Trailer, Upgrade, Transfer-Encoding, Content-Length (framing is re-written by the
  // proxy), and every header named in a Connection header.
  bool hop_by_hop = false;
};

inline constexpr uint32_t kMaxHeaderFields = 256;  // hard ceiling on HeadLimits::max_header_count

// A parsed head. Big (headers array), so a worker keeps one as scratch and copies out
// the few facts a connection needs; never store one per connection.
struct MessageHead {
  // Request line (requests only).
  Method method = Method::other;
  std::string_view method_text;
  std::string_view target;
  // Status line (responses only).
  uint16_t status = 0;
  std::string_view reason;

  uint8_t version_minor = 1;  // 0 for HTTP/1.0, 1 for HTTP/1.1
  uint32_t head_bytes = 0;    // bytes of the head, including the final CRLF CRLF

  HeaderField headers[kMaxHeaderFields];
  uint32_t header_count = 0;

  // Framing and connection facts derived from the headers.
  BodyKind body = BodyKind::none;
  uint64_t content_length = 0;         // valid when body == content_length
  bool connection_close = false;       // Connection: close token
  bool connection_keep_alive = false;  // Connection: keep-alive token
  bool connection_upgrade = false;     // Connection: upgrade token
  bool has_upgrade_header = false;     // an Upgrade header is present
  bool expect_continue = false;        // Expect: 100-continue (case-insensitive)
  std::string_view host;               // requests: the Host value (empty if none)
  std::string_view upgrade;            // the Upgrade header value, if any
};

struct ParseResult {
  ParseStatus status = ParseStatus::need_more;
  ParseError error = ParseError::none;
  uint32_t error_offset = 0;  // byte offset in the input where the error was found
  uint32_t consumed = 0;      // head length when status == done (== out.head_bytes)
};

// Parses a request head from the start of `data`. need_more when no complete head is in
// `data` yet and none of the limits is exceeded (the caller reads more and calls again
// with all the bytes); done when the head is complete and valid; error otherwise.
// The bytes after the head (the body, or a pipelined request) are not looked at.
ParseResult parse_request_head(const char* data, size_t len, const HeadLimits& limits, MessageHead& out);

// Parses a response head. `request_method` is the method of the request it answers:
// a response to HEAD has no body, nor does 1xx, 204 or 304; a response to a CONNECT with
// 2xx is until_close. A response without CL or TE is until_close.
ParseResult parse_response_head(const char* data, size_t len, const HeadLimits& limits, Method request_method,
                                MessageHead& out);

// Incremental check of a request line while its head is still arriving, so that a request
// that can no longer become valid (a line without a version, garbage, a TLS ClientHello on
// a plain port) is refused when the deciding byte arrives, not when the head timeout fires.
// Each call looks only at the bytes it has not seen (a head arriving a byte at a time costs
// no re-parsing) and follows the request-line grammar just far enough to know when to ask
// the parser: at a byte that cannot continue the line, at the start-line limit, and once
// at the line ending. The verdict is always parse_request_head's on the bytes so far, so
// the check never refuses what the parser would accept (the request fuzzer checks this).
// The caller keeps one RequestLineCheck per request (a fresh one for the next request) and
// passes all the bytes received for this head on every call.
struct RequestLineCheck {
  enum class Phase : uint8_t {
    start,          // nothing looked at yet
    empty_line_lf,  // one CR before the request line: its LF must follow
    method,
    target,
    version,  // "HTTP/" DIGIT "." DIGIT CR
    line_lf,  // the LF that ends the request line
    pending,  // the parser needs the byte after a CR to decide
    passed,   // the request line is complete and valid: nothing more to check
  };
  Phase phase = Phase::start;
  uint32_t scanned = 0;     // bytes already looked at
  uint32_t line_start = 0;  // where the request line starts (after an empty line)
  uint32_t part_start = 0;  // where the current part (method, target, version) starts
};

// need_more while nothing is wrong (also once the line has passed: the rest of the head is
// judged by parse_request_head when it is complete); error with the parser's error and
// offset otherwise. `scratch` is overwritten when the parser is asked.
ParseResult check_request_line(const char* data, size_t len, const HeadLimits& limits, RequestLineCheck& check,
                               MessageHead& scratch);

// Cheap pre-scan so that a head arriving a byte at a time is not re-parsed on every read:
// looks for the end of the head ("\r\n\r\n") in data[from, len). `from` is where the last
// scan stopped (the caller keeps it; start with 0). Returns the head length when found,
// 0 when not yet, and sets `bare_lf` if an LF not preceded by CR was seen (the caller then
// calls the parser, which reports the error with its offset).
struct HeadEndScan {
  size_t head_length = 0;  // 0: not found yet
  size_t next_from = 0;    // pass as `from` next time
  bool bare_lf = false;
};
HeadEndScan scan_head_end(const char* data, size_t len, size_t from);

// Case-insensitive ASCII comparison, for header names and tokens.
bool equals_ignore_case(std::string_view a, std::string_view b);

}  // namespace lb::http1
