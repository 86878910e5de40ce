// HTTP/1.x head parser: see parser.h for the contract.
//
// How it works. One left-to-right pass over the head. Every decision is taken at the
// first byte that settles it, and a byte is only read once the parser actually needs it,
// so parsing a prefix of a message gives either need_more or exactly the result the whole
// message gives (the fuzzers check this). Two windows bound the reads:
//   - the head window, min(len, max_head_bytes): needing a byte past it means need_more
//     when it is the end of the input, head_too_large when it is the limit;
//   - the start-line limit: a start-line byte at index max_start_line of the line that is
//     not its CR (or LF) means the line is too long, found as soon as that byte arrives.
// Semantic checks on a header (Content-Length syntax and agreement, Transfer-Encoding,
// Host) run as soon as its line is complete; checks that need the whole head (missing
// Host, body framing, headers named by Connection) run after the final CRLF.
#include "http1/parser.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "http1/char_classes.h"

namespace lb::http1 {

namespace {

using chars::is;

constexpr uint64_t kMaxU64 = ~uint64_t{0};
// More Connection options than this naming other headers is refused: marking them costs
// tokens x headers comparisons, and no real client sends more than a handful.
constexpr uint32_t kMaxConnectionOptions = 32;

// Advances p while data[p] is in class `cls`, up to `end`. Unrolled by four: this loop
// covers almost every byte of a head (names, values, targets).
inline size_t skip_class(const char* data, size_t p, size_t end, uint8_t cls) {
  while (p + 4 <= end) {  // not `end - p`: safe even if a caller passed p > end
    if (!is(data[p], cls)) return p;
    if (!is(data[p + 1], cls)) return p + 1;
    if (!is(data[p + 2], cls)) return p + 2;
    if (!is(data[p + 3], cls)) return p + 3;
    p += 4;
  }
  while (p < end && is(data[p], cls)) ++p;
  return p;
}

// The two classes that cover most bytes of a head, field values (and reason phrases) and
// request targets, are simple byte ranges, so on x86-64 (SSE2 is part of the baseline)
// they are checked sixteen bytes at a time; the table loop finishes the tail. Both give
// exactly the table's answer (a unit test sweeps every byte value at every alignment).
#if defined(__SSE2__)

// Field value: HTAB, 0x20-0x7E, 0x80-0xFF. Bad: below 0x20 (unsigned) but HTAB, and DEL.
inline size_t skip_field_value(const char* data, size_t p, size_t end) {
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i htab = _mm_set1_epi8(0x09);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (p + 16 <= end) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + p));
    const __m128i at_least_space = _mm_cmpeq_epi8(_mm_max_epu8(v, space), v);
    const __m128i good =
        _mm_andnot_si128(_mm_cmpeq_epi8(v, del), _mm_or_si128(at_least_space, _mm_cmpeq_epi8(v, htab)));
    const unsigned bad = ~static_cast<unsigned>(_mm_movemask_epi8(good)) & 0xffffu;
    if (bad != 0) return p + static_cast<size_t>(__builtin_ctz(bad));
    p += 16;
  }
  return skip_class(data, p, end, chars::kFieldValue);
}

// Target: 0x21-0x7E except '#'.
inline size_t skip_target(const char* data, size_t p, size_t end) {
  const __m128i low = _mm_set1_epi8(0x21);
  const __m128i high = _mm_set1_epi8(0x7e);
  const __m128i hash = _mm_set1_epi8('#');
  while (p + 16 <= end) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + p));
    const __m128i in_range =
        _mm_and_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, low), v), _mm_cmpeq_epi8(_mm_min_epu8(v, high), v));
    const __m128i good = _mm_andnot_si128(_mm_cmpeq_epi8(v, hash), in_range);
    const unsigned bad = ~static_cast<unsigned>(_mm_movemask_epi8(good)) & 0xffffu;
    if (bad != 0) return p + static_cast<size_t>(__builtin_ctz(bad));
    p += 16;
  }
  return skip_class(data, p, end, chars::kTarget);
}

#else

inline size_t skip_field_value(const char* data, size_t p, size_t end) {
  return skip_class(data, p, end, chars::kFieldValue);
}
inline size_t skip_target(const char* data, size_t p, size_t end) { return skip_class(data, p, end, chars::kTarget); }

#endif

inline bool starts_with_ignore_case(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equals_ignore_case(s.substr(0, prefix.size()), prefix);
}

inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is(s.front(), chars::kWhitespace)) s.remove_prefix(1);
  while (!s.empty() && is(s.back(), chars::kWhitespace)) s.remove_suffix(1);
  return s;
}

// Calls fn(element, offset_in_list) for each element of a comma-separated list, with the
// OWS around it trimmed (elements may be empty). Stops early when fn returns false.
template <typename Fn>
bool for_each_list_element(std::string_view list, Fn&& fn) {
  size_t start = 0;
  for (;;) {
    size_t comma = list.find(',', start);
    size_t stop = comma == std::string_view::npos ? list.size() : comma;
    std::string_view raw = list.substr(start, stop - start);
    std::string_view element = trim_ows(raw);
    size_t offset = start + static_cast<size_t>(element.data() - raw.data());
    if (!fn(element, offset)) return false;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

Method method_from_text(std::string_view m) {
  // Methods are case-sensitive (RFC 9110 9.1): "get" is an unknown method.
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::get;
      if (m == "PUT") return Method::put;
      break;
    case 4:
      if (m == "HEAD") return Method::head;
      if (m == "POST") return Method::post;
      break;
    case 5:
      if (m == "PATCH") return Method::patch;
      if (m == "TRACE") return Method::trace;
      break;
    case 6:
      if (m == "DELETE") return Method::delete_;
      break;
    case 7:
      if (m == "OPTIONS") return Method::options;
      if (m == "CONNECT") return Method::connect;
      break;
    default: break;
  }
  return Method::other;
}

// The header names the parser acts on. Classified by length first so that most names
// are told apart with one switch and at most two comparisons.
enum class Known : uint8_t {
  other,
  host,
  content_length,
  transfer_encoding,
  connection,
  upgrade,
  expect,
  keep_alive,
  proxy_connection,
  te,
  trailer,
};

Known classify(std::string_view name) {
  switch (name.size()) {
    case 2:
      if (equals_ignore_case(name, "te")) return Known::te;
      break;
    case 4:
      if (equals_ignore_case(name, "host")) return Known::host;
      break;
    case 6:
      if (equals_ignore_case(name, "expect")) return Known::expect;
      break;
    case 7:
      if (equals_ignore_case(name, "upgrade")) return Known::upgrade;
      if (equals_ignore_case(name, "trailer")) return Known::trailer;
      break;
    case 10:
      if (equals_ignore_case(name, "connection")) return Known::connection;
      if (equals_ignore_case(name, "keep-alive")) return Known::keep_alive;
      break;
    case 14:
      if (equals_ignore_case(name, "content-length")) return Known::content_length;
      break;
    case 16:
      if (equals_ignore_case(name, "proxy-connection")) return Known::proxy_connection;
      break;
    case 17:
      if (equals_ignore_case(name, "transfer-encoding")) return Known::transfer_encoding;
      break;
    default: break;
  }
  return Known::other;
}

// authority = host [ ":" port ] (RFC 3986 3.2), where host is an IP-literal ("[" IPv6
// "]"), an IPv4 address or a reg-name, never empty, and port is 1 to 5 digits up to
// 65535. Stricter than RFC 3986 on purpose: no userinfo ('@'), no ',' (a Host list is a
// classic routing confusion), no empty port, no IPvFuture.
bool valid_authority(std::string_view a, bool port_required) {
  size_t i = 0;
  const size_t n = a.size();
  if (n == 0) return false;
  if (a[0] == '[') {
    // IPv6 literal: hex digits, ':' and '.' (an embedded IPv4), at least one ':'.
    bool colon = false;
    for (i = 1; i < n && a[i] != ']'; ++i) {
      if (a[i] == ':') {
        colon = true;
      } else if (!is(a[i], chars::kHex) && a[i] != '.') {
        return false;
      }
    }
    if (i == n || !colon) return false;
    ++i;  // past ']'
  } else {
    // reg-name or IPv4 (an IPv4 address is a valid reg-name): unreserved, sub-delims
    // (but ','), pct-encoded.
    while (i < n && is(a[i], chars::kRegName)) {
      if (a[i] == '%') {
        if (n - i < 3 || !is(a[i + 1], chars::kHex) || !is(a[i + 2], chars::kHex)) return false;
        i += 2;
      }
      ++i;
    }
    if (i == 0) return false;
  }
  if (i == n) return !port_required;
  if (a[i] != ':') return false;
  ++i;
  const size_t digits = n - i;
  if (digits == 0 || digits > 5) return false;
  uint32_t port = 0;
  for (; i < n; ++i) {
    if (!is(a[i], chars::kDigit)) return false;
    port = port * 10 + static_cast<uint32_t>(a[i] - '0');
  }
  return port <= 65535;
}

class HeadParser {
 public:
  HeadParser(const char* data, size_t len, const HeadLimits& limits, MessageHead& out)
      : d_(data), limits_(limits), out_(out) {
    window_is_limit_ = len >= limits.max_head_bytes;
    window_ = window_is_limit_ ? limits.max_head_bytes : len;
    max_headers_ = limits.max_header_count < kMaxHeaderFields ? limits.max_header_count : kMaxHeaderFields;
    reset_out();
  }

  ParseResult parse_request() {
    is_request_ = true;
    size_t p = 0;
    if (request_line(p) && header_fields(p) && finish_request(p)) done(p);
    return result_;
  }

  ParseResult parse_response(Method request_method) {
    is_request_ = false;
    size_t p = 0;
    if (status_line(p) && header_fields(p) && finish_response(p, request_method)) done(p);
    return result_;
  }

 private:
  // ---- results ----

  bool fail(ParseError e, size_t at) {
    result_.status = ParseStatus::error;
    result_.error = e;
    result_.error_offset = static_cast<uint32_t>(at);
    result_.consumed = 0;
    return false;
  }

  void done(size_t head_end) {
    out_.head_bytes = static_cast<uint32_t>(head_end);
    result_.status = ParseStatus::done;
    result_.consumed = static_cast<uint32_t>(head_end);
  }

  // ---- byte availability ----

  // True when data[p] may be read as part of the head. Otherwise sets the result: the
  // input ended (need_more), or the head already fills max_head_bytes (head_too_large).
  bool at(size_t p) {
    if (p < window_) return true;
    if (window_is_limit_) return fail(ParseError::head_too_large, window_);
    result_.status = ParseStatus::need_more;
    return false;
  }

  // Same inside the start line, which must end (CR) by index line_limit_.
  bool sl_at(size_t p) {
    if (!at(p)) return false;
    if (p >= line_limit_ && d_[p] != '\r' && d_[p] != '\n') {
      return fail(ParseError::start_line_too_long, p);
    }
    return true;
  }

  // data[p] is not what the grammar wants there. A CR or LF is reported as a line-ending
  // problem (a bare LF, a bare CR, or a line that ended early with `e`); any other byte
  // as `e`.
  bool unexpected(size_t p, ParseError e) {
    if (d_[p] == '\n') return fail(ParseError::bare_lf, p);
    if (d_[p] == '\r') {
      if (!at(p + 1)) return false;
      if (d_[p + 1] != '\n') return fail(ParseError::bare_cr, p);
    }
    return fail(e, p);
  }

  // Expects CR LF at p; on success p is past it.
  bool crlf(size_t& p, ParseError e) {
    if (!at(p)) return false;
    if (d_[p] != '\r') return unexpected(p, e);
    if (!at(p + 1)) return false;
    if (d_[p + 1] != '\n') return fail(ParseError::bare_cr, p);
    p += 2;
    return true;
  }

  // ---- start lines ----

  // "HTTP/" DIGIT "." DIGIT. Sets out_.version_minor; a well-formed version other than
  // 1.0 and 1.1 is remembered and reported once the whole line is known to be
  // well-formed, so that "HTTP/2.0x" is bad_version, not unsupported_version.
  bool version(size_t& p) {
    version_offset_ = p;
    for (const char* expected = "HTTP/"; *expected; ++expected, ++p) {
      if (!sl_at(p)) return false;
      if (d_[p] != *expected) return unexpected(p, ParseError::bad_version);
    }
    char digits[3];
    for (int i = 0; i < 3; ++i, ++p) {
      if (!sl_at(p)) return false;
      const bool ok = i == 1 ? d_[p] == '.' : is(d_[p], chars::kDigit);
      if (!ok) return unexpected(p, ParseError::bad_version);
      digits[i] = d_[p];
    }
    supported_version_ = digits[0] == '1' && (digits[2] == '0' || digits[2] == '1');
    out_.version_minor = digits[2] == '0' ? 0 : 1;
    return true;
  }

  bool request_line(size_t& p) {
    // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request
    // line (some clients send CRLF after a POST body). We ignore exactly one: its bytes
    // are part of the head (consumed). A second one is bad_start_line, which keeps the
    // parser in step with scan_head_end (a head never starts with CRLF CRLF).
    if (!at(p)) return false;
    if (d_[p] == '\r') {
      if (!crlf(p, ParseError::bad_start_line)) return false;
    }
    line_limit_ = p + limits_.max_start_line;
    const size_t lim = line_limit_ < window_ ? line_limit_ : window_;

    // method SP
    const size_t method_start = p;
    p = skip_class(d_, p, lim, chars::kTchar);
    if (!sl_at(p)) return false;
    // A CR here is a line that ended early (or a second empty line): bad_start_line.
    if (d_[p] != ' ') {
      return unexpected(p, d_[p] == '\r' ? ParseError::bad_start_line : ParseError::bad_method);
    }
    if (p == method_start) return fail(ParseError::bad_method, p);
    out_.method_text = std::string_view(d_ + method_start, p - method_start);
    out_.method = method_from_text(out_.method_text);
    ++p;

    // request-target SP
    const size_t target_start = p;
    p = skip_target(d_, p, lim);
    if (!sl_at(p)) return false;
    // A CR here is a line without a version (HTTP/0.9 style): bad_start_line.
    if (d_[p] != ' ') {
      return unexpected(p, d_[p] == '\r' ? ParseError::bad_start_line : ParseError::bad_target);
    }
    if (p == target_start) return fail(ParseError::bad_target, p);  // two SPs
    out_.target = std::string_view(d_ + target_start, p - target_start);
    if (!check_target(target_start)) return false;
    ++p;

    // HTTP-version CRLF
    if (!version(p)) return false;
    if (!sl_at(p)) return false;
    if (!crlf(p, ParseError::bad_version)) return false;
    if (!supported_version_) return fail(ParseError::unsupported_version, version_offset_);
    return true;
  }

  // The request-target forms of RFC 9112 3.2, each only where it is allowed.
  bool check_target(size_t offset) {
    const std::string_view t = out_.target;
    const Method m = out_.method;
    if (m == Method::connect) {
      // authority-form, port required, and only for CONNECT.
      if (!valid_authority(t, true)) return fail(ParseError::bad_target, offset);
      return true;
    }
    if (t[0] == '/') return true;  // origin-form (the table already vetted every byte)
    if (t.size() == 1 && t[0] == '*') {
      if (m != Method::options) return fail(ParseError::bad_target, offset);
      return true;
    }
    // absolute-form: http or https only; the authority is checked like Host and must
    // equal the Host header (compared at the end of the head).
    std::string_view rest;
    if (starts_with_ignore_case(t, "http://")) {
      rest = t.substr(7);
    } else if (starts_with_ignore_case(t, "https://")) {
      rest = t.substr(8);
    } else {
      return fail(ParseError::bad_target, offset);
    }
    const size_t auth_end = rest.find_first_of("/?");
    target_authority_ = rest.substr(0, auth_end == std::string_view::npos ? rest.size() : auth_end);
    if (!valid_authority(target_authority_, false)) return fail(ParseError::bad_target, offset);
    absolute_form_ = true;
    return true;
  }

  bool status_line(size_t& p) {
    line_limit_ = limits_.max_start_line;
    const size_t lim = line_limit_ < window_ ? line_limit_ : window_;

    // HTTP-version SP
    if (!version(p)) return false;
    if (!sl_at(p)) return false;
    if (d_[p] != ' ') {
      return unexpected(p, d_[p] == '\r' ? ParseError::bad_start_line : ParseError::bad_version);
    }
    ++p;

    // status-code: exactly three digits, at least 100.
    const size_t status_start = p;
    uint16_t status = 0;
    for (int i = 0; i < 3; ++i, ++p) {
      if (!sl_at(p)) return false;
      if (!is(d_[p], chars::kDigit)) return unexpected(p, ParseError::bad_status);
      status = static_cast<uint16_t>(status * 10 + (d_[p] - '0'));
    }
    if (status < 100) return fail(ParseError::bad_status, status_start);
    out_.status = status;

    // [ SP reason-phrase ] CRLF. RFC 9112 requires the SP even with an empty reason,
    // but "HTTP/1.1 200\r\n" is common enough in the wild that we accept it; it is not
    // ambiguous.
    if (!sl_at(p)) return false;
    if (d_[p] == ' ') {
      ++p;
      const size_t reason_start = p;
      p = skip_field_value(d_, p, lim);
      if (!sl_at(p)) return false;
      out_.reason = std::string_view(d_ + reason_start, p - reason_start);
      if (!crlf(p, ParseError::bad_start_line)) return false;
    } else {
      if (!crlf(p, ParseError::bad_status)) return false;
    }
    if (!supported_version_) return fail(ParseError::unsupported_version, version_offset_);
    return true;
  }

  // ---- header fields ----

  bool header_fields(size_t& p) {
    for (;;) {
      if (!at(p)) return false;
      const char first = d_[p];
      if (first == '\r') return crlf(p, ParseError::bare_cr);  // end of the head
      if (first == '\n') return fail(ParseError::bare_lf, p);
      // A line starting with whitespace continues the previous one (obs-fold), or, right
      // after the start line, is a smuggling classic (RFC 9112 2.2): refused either way.
      if (first == ' ' || first == '\t') return fail(ParseError::obs_fold, p);
      if (out_.header_count >= max_headers_) return fail(ParseError::too_many_headers, p);

      // field-name ":"
      const size_t name_start = p;
      p = skip_class(d_, p, window_, chars::kTchar);
      if (!at(p)) return false;
      if (d_[p] != ':') {
        const char c = d_[p];
        if (c == ' ' || c == '\t') return fail(ParseError::space_before_colon, p);
        return unexpected(p, c == '\r' ? ParseError::missing_colon : ParseError::bad_header_name);
      }
      if (p == name_start) return fail(ParseError::bad_header_name, p);
      const size_t name_end = p;
      ++p;

      // OWS field-value OWS CRLF
      p = skip_class(d_, p, window_, chars::kWhitespace);
      const size_t value_start = p;
      p = skip_field_value(d_, p, window_);
      if (!at(p)) return false;
      size_t value_end = p;
      if (!crlf(p, ParseError::bad_header_value)) return false;
      while (value_end > value_start && is(d_[value_end - 1], chars::kWhitespace)) --value_end;

      HeaderField& h = out_.headers[out_.header_count++];
      h.name = std::string_view(d_ + name_start, name_end - name_start);
      h.value = std::string_view(d_ + value_start, value_end - value_start);
      h.hop_by_hop = false;
      if (!on_header(h, name_start, value_start)) return false;
    }
  }

  // Acts on one complete header line; errors point at its name or value.
  bool on_header(HeaderField& h, size_t name_offset, size_t value_offset) {
    switch (classify(h.name)) {
      case Known::other: return true;
      case Known::content_length: h.hop_by_hop = true; return on_content_length(h.value, name_offset, value_offset);
      case Known::transfer_encoding:
        h.hop_by_hop = true;
        return on_transfer_encoding(h.value, name_offset, value_offset);
      case Known::host:
        if (!is_request_) return true;
        if (has_host_) return fail(ParseError::duplicate_host, name_offset);
        if (!valid_authority(h.value, false)) return fail(ParseError::bad_host, value_offset);
        has_host_ = true;
        host_offset_ = value_offset;
        out_.host = h.value;
        return true;
      case Known::connection: h.hop_by_hop = true; return on_connection(h.value, value_offset);
      case Known::upgrade:
        h.hop_by_hop = true;
        if (!out_.has_upgrade_header) out_.upgrade = h.value;
        out_.has_upgrade_header = true;
        return true;
      case Known::expect:
        // RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored
        // (the client cannot handle a 100 response).
        if (is_request_ && out_.version_minor == 1 && equals_ignore_case(h.value, "100-continue")) {
          out_.expect_continue = true;
        }
        return true;
      case Known::keep_alive:
      case Known::proxy_connection:
      case Known::te:
      case Known::trailer: h.hop_by_hop = true; return true;
    }
    return true;
  }

  // Content-Length = 1*DIGIT, or a list of identical values ("5, 5") which some clients
  // send after merging duplicates (RFC 9110 8.6); several headers must agree too.
  bool on_content_length(std::string_view v, size_t name_offset, size_t value_offset) {
    ParseError error = ParseError::none;
    size_t error_at = 0;
    for_each_list_element(v, [&](std::string_view e, size_t off) {
      uint64_t n = 0;
      if (e.empty()) {
        error = ParseError::bad_content_length;
        error_at = value_offset + off;
        return false;
      }
      for (size_t i = 0; i < e.size(); ++i) {
        const uint64_t digit = static_cast<uint64_t>(e[i] - '0');
        if (!is(e[i], chars::kDigit) || n > (kMaxU64 - digit) / 10) {
          error = ParseError::bad_content_length;
          error_at = value_offset + off + i;
          return false;
        }
        n = n * 10 + digit;
      }
      if (has_content_length_ && n != out_.content_length) {
        error = ParseError::conflicting_content_length;
        error_at = name_offset;
        return false;
      }
      has_content_length_ = true;
      out_.content_length = n;
      return true;
    });
    if (error != ParseError::none) return fail(error, error_at);
    if (has_transfer_encoding_) {
      return fail(ParseError::content_length_with_transfer_encoding, name_offset);
    }
    return true;
  }

  // The codings of every Transfer-Encoding header form one list. The only one we can
  // frame without decoding is chunked, so the list must be exactly "chunked": anything
  // else (gzip, chunked twice, parameters, empty elements) is refused.
  bool on_transfer_encoding(std::string_view v, size_t name_offset, size_t value_offset) {
    if (out_.version_minor == 0) {
      return fail(ParseError::transfer_encoding_in_http10, name_offset);
    }
    size_t bad_at = 0;
    const bool ok = for_each_list_element(v, [&](std::string_view e, size_t off) {
      if (!equals_ignore_case(e, "chunked") || seen_chunked_) {
        bad_at = value_offset + off;
        return false;
      }
      seen_chunked_ = true;
      return true;
    });
    if (!ok) return fail(ParseError::bad_transfer_encoding, bad_at);
    has_transfer_encoding_ = true;
    transfer_encoding_offset_ = name_offset;
    if (has_content_length_) {
      return fail(ParseError::content_length_with_transfer_encoding, name_offset);
    }
    return true;
  }

  // Connection = #token. close / keep-alive / upgrade set flags; any other option names
  // a header that must not be forwarded (marked once the whole head is known).
  bool on_connection(std::string_view v, size_t value_offset) {
    size_t bad_at = 0;
    const bool ok = for_each_list_element(v, [&](std::string_view e, size_t off) {
      for (size_t i = 0; i < e.size(); ++i) {
        if (!is(e[i], chars::kTchar)) {
          bad_at = value_offset + off + i;
          return false;
        }
      }
      if (e.empty()) return true;  // "a, , b": empty list elements are allowed
      if (equals_ignore_case(e, "close")) {
        out_.connection_close = true;
      } else if (equals_ignore_case(e, "keep-alive")) {
        out_.connection_keep_alive = true;
      } else if (equals_ignore_case(e, "upgrade")) {
        out_.connection_upgrade = true;
      } else if (++connection_options_ > kMaxConnectionOptions) {
        bad_at = value_offset + off;
        return false;
      }
      return true;
    });
    if (!ok) return fail(ParseError::bad_header_value, bad_at);
    return true;
  }

  // Marks as hop-by-hop every header named by a Connection option. Host is never
  // marked: a client must not be able to make the proxy drop it.
  void mark_connection_options() {
    if (connection_options_ == 0) return;
    const uint32_t count = out_.header_count;
    for (uint32_t i = 0; i < count; ++i) {
      if (!equals_ignore_case(out_.headers[i].name, "connection")) continue;
      for_each_list_element(out_.headers[i].value, [&](std::string_view option, size_t) {
        if (option.empty() || equals_ignore_case(option, "host")) return true;
        for (uint32_t j = 0; j < count; ++j) {
          HeaderField& h = out_.headers[j];
          if (h.name.size() == option.size() && equals_ignore_case(h.name, option)) {
            h.hop_by_hop = true;
          }
        }
        return true;
      });
    }
  }

  // ---- whole-head checks ----

  bool finish_request(size_t head_end) {
    if (!has_host_ && out_.version_minor == 1) {
      return fail(ParseError::missing_host, head_end - 2);
    }
    // RFC 9112 3.2.2 says a server ignores Host for an absolute-form target; a proxy
    // that routes on one while the backend reads the other is a routing bypass, so the
    // two must agree.
    if (absolute_form_ && has_host_ && !equals_ignore_case(out_.host, target_authority_)) {
      return fail(ParseError::bad_host, host_offset_);
    }
    mark_connection_options();
    if (has_transfer_encoding_) {
      out_.body = BodyKind::chunked;
    } else if (has_content_length_) {
      out_.body = BodyKind::content_length;
    } else {
      out_.body = BodyKind::none;
    }
    return true;
  }

  bool finish_response(size_t /*head_end*/, Method request_method) {
    const uint16_t s = out_.status;
    // RFC 9112 6.1: no Transfer-Encoding in a 1xx or 204, nor in a 2xx to CONNECT.
    const bool connect_ok = request_method == Method::connect && s >= 200 && s < 300;
    if (has_transfer_encoding_ && (s < 200 || s == 204 || connect_ok)) {
      return fail(ParseError::bad_transfer_encoding, transfer_encoding_offset_);
    }
    mark_connection_options();
    // RFC 9112 6.3, in order. Content-Length is ignored (not an error) where the status
    // or the method says there is no body: a 304 carries the length of the
    // representation it did not send.
    if (request_method == Method::head || s < 200 || s == 204 || s == 304) {
      out_.body = BodyKind::none;
    } else if (connect_ok) {
      out_.body = BodyKind::until_close;  // the connection is a tunnel from here on
    } else if (has_transfer_encoding_) {
      out_.body = BodyKind::chunked;
    } else if (has_content_length_) {
      out_.body = BodyKind::content_length;
    } else {
      out_.body = BodyKind::until_close;
    }
    return true;
  }

  void reset_out() {
    out_.method = Method::other;
    out_.method_text = {};
    out_.target = {};
    out_.status = 0;
    out_.reason = {};
    out_.version_minor = 1;
    out_.head_bytes = 0;
    out_.header_count = 0;
    out_.body = BodyKind::none;
    out_.content_length = 0;
    out_.connection_close = false;
    out_.connection_keep_alive = false;
    out_.connection_upgrade = false;
    out_.has_upgrade_header = false;
    out_.expect_continue = false;
    out_.host = {};
    out_.upgrade = {};
  }

  const char* d_;
  const HeadLimits& limits_;
  MessageHead& out_;
  ParseResult result_;

  size_t window_ = 0;             // bytes the head may occupy: min(len, max_head_bytes)
  bool window_is_limit_ = false;  // window_ ends at max_head_bytes, not at the input's end
  size_t line_limit_ = 0;         // index by which the start line's CR must come
  uint32_t max_headers_ = 0;

  bool is_request_ = true;
  bool supported_version_ = false;
  size_t version_offset_ = 0;
  bool absolute_form_ = false;
  std::string_view target_authority_;

  bool has_host_ = false;
  size_t host_offset_ = 0;
  bool has_content_length_ = false;
  bool has_transfer_encoding_ = false;
  bool seen_chunked_ = false;
  size_t transfer_encoding_offset_ = 0;
  uint32_t connection_options_ = 0;  // Connection options other than close/keep-alive/upgrade
};

}  // namespace

ParseResult parse_request_head(const char* data, size_t len, const HeadLimits& limits, MessageHead& out) {
  return HeadParser(data, len, limits, out).parse_request();
}

ParseResult parse_response_head(const char* data, size_t len, const HeadLimits& limits, Method request_method,
                                MessageHead& out) {
  return HeadParser(data, len, limits, out).parse_response(request_method);
}

ParseResult check_request_line(const char* data, size_t len, const HeadLimits& limits, RequestLineCheck& check,
                               MessageHead& scratch) {
  using Phase = RequestLineCheck::Phase;
  const ParseResult no_objection;  // need_more
  // Why the walk below stopped and the parser is asked.
  enum class Ask : uint8_t { no, fault, target_end, line_end };
  for (;;) {
    if (check.phase == Phase::passed) return no_objection;
    // Called again before the byte after a pending CR came: nothing new to judge.
    if (check.phase == Phase::pending && len <= size_t{check.scanned} + 1) return no_objection;
    // Walk the new bytes with the request-line grammar until the parser must be asked: at
    // a byte that cannot continue the line (or the start-line limit), at the end of the
    // target (its form is checked there), and at the LF that ends the line.
    size_t i = check.scanned;
    Ask ask = check.phase == Phase::pending ? Ask::fault : Ask::no;
    while (ask == Ask::no && i < len) {
      const char c = data[i];
      if (check.phase >= Phase::method && i - check.line_start >= limits.max_start_line && c != '\r' && c != '\n') {
        ask = Ask::fault;  // start_line_too_long
        break;
      }
      switch (check.phase) {
        case Phase::start:
          if (c == '\r') {
            check.phase = Phase::empty_line_lf;
            ++i;
          } else {
            check.phase = Phase::method;  // this byte is the method's first
            check.line_start = check.part_start = static_cast<uint32_t>(i);
          }
          continue;
        case Phase::empty_line_lf:
          if (c != '\n') break;
          ++i;
          check.phase = Phase::method;
          check.line_start = check.part_start = static_cast<uint32_t>(i);
          continue;
        case Phase::method:
          if (is(c, chars::kTchar)) {
            ++i;
            continue;
          }
          if (c != ' ' || i == check.part_start) break;
          check.phase = Phase::target;
          check.part_start = static_cast<uint32_t>(++i);
          continue;
        case Phase::target:
          if (is(c, chars::kTarget)) {
            ++i;
            continue;
          }
          if (c != ' ' || i == check.part_start) break;
          check.phase = Phase::version;
          check.part_start = static_cast<uint32_t>(++i);
          ask = Ask::target_end;
          continue;
        case Phase::version: {
          static constexpr char kShape[] = "HTTP/0.0\r";  // '0' stands for any digit
          const size_t k = i - check.part_start;
          const bool ok = kShape[k] == '0' ? is(c, chars::kDigit) : c == kShape[k];
          if (!ok) break;
          ++i;
          if (k + 2 == sizeof(kShape)) check.phase = Phase::line_lf;
          continue;
        }
        case Phase::line_lf:
          ++i;  // an LF ends the line; anything else is a bare CR: the parser says which
          ask = Ask::line_end;
          continue;
        case Phase::pending:
        case Phase::passed: break;
      }
      ask = Ask::fault;
    }
    check.scanned = static_cast<uint32_t>(i);
    if (ask == Ask::no) return no_objection;

    // The parser decides, on every byte so far: it judges a prefix exactly as it would the
    // whole head, so its error is final, and its need_more means the line may be good.
    const ParseResult verdict = parse_request_head(data, len, limits, scratch);
    if (verdict.status == ParseStatus::error) return verdict;
    if (ask == Ask::target_end && verdict.status == ParseStatus::need_more) continue;  // walk on
    if (ask == Ask::fault && check.phase != Phase::pending && verdict.status == ParseStatus::need_more &&
        i + 1 == len && data[i] == '\r') {
      // A CR where the line cannot go on: the next byte tells a bare CR from a line that
      // ended early.
      check.phase = Phase::pending;
      return no_objection;
    }
    // The line is complete and good (or the parser, the authority, saw no fault where the
    // walk stopped): stop checking; the whole head is parsed when it is complete.
    check.phase = Phase::passed;
    return no_objection;
  }
}

HeadEndScan scan_head_end(const char* data, size_t len, size_t from) {
  // Anchored on LF, found with memchr: each LF is looked at once and its CR (and, for the
  // end of the head, the CR LF CR before it) is read backwards. Looking backwards means
  // a terminator split across two calls is found without rescanning: resuming at `len`
  // is enough, since the bytes before the next LF are still in the buffer.
  HeadEndScan r;
  size_t i = from < len ? from : len;
  while (i < len) {
    const void* hit = std::memchr(data + i, '\n', len - i);
    if (hit == nullptr) break;
    const size_t lf = static_cast<size_t>(static_cast<const char*>(hit) - data);
    if (lf == 0 || data[lf - 1] != '\r') {
      r.bare_lf = true;
      r.next_from = lf;
      return r;
    }
    if (lf >= 3 && data[lf - 2] == '\n' && data[lf - 3] == '\r') {
      r.head_length = lf + 1;
      r.next_from = lf + 1;
      return r;
    }
    i = lf + 1;
  }
  r.next_from = len;
  return r;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (chars::lower(a[i]) != chars::lower(b[i])) return false;
  }
  return true;
}

uint16_t to_status(ParseError e) {
  switch (e) {
    case ParseError::start_line_too_long: return 414;
    case ParseError::head_too_large:
    case ParseError::too_many_headers: return 431;
    case ParseError::unsupported_version: return 505;
    default: return 400;
  }
}

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::none: return "none";
    case ParseError::bad_start_line: return "bad_start_line";
    case ParseError::bad_method: return "bad_method";
    case ParseError::bad_target: return "bad_target";
    case ParseError::bad_version: return "bad_version";
    case ParseError::unsupported_version: return "unsupported_version";
    case ParseError::start_line_too_long: return "start_line_too_long";
    case ParseError::head_too_large: return "head_too_large";
    case ParseError::too_many_headers: return "too_many_headers";
    case ParseError::bare_lf: return "bare_lf";
    case ParseError::bare_cr: return "bare_cr";
    case ParseError::obs_fold: return "obs_fold";
    case ParseError::bad_header_name: return "bad_header_name";
    case ParseError::space_before_colon: return "space_before_colon";
    case ParseError::missing_colon: return "missing_colon";
    case ParseError::bad_header_value: return "bad_header_value";
    case ParseError::bad_content_length: return "bad_content_length";
    case ParseError::conflicting_content_length: return "conflicting_content_length";
    case ParseError::content_length_with_transfer_encoding: return "content_length_with_transfer_encoding";
    case ParseError::bad_transfer_encoding: return "bad_transfer_encoding";
    case ParseError::transfer_encoding_in_http10: return "transfer_encoding_in_http10";
    case ParseError::missing_host: return "missing_host";
    case ParseError::duplicate_host: return "duplicate_host";
    case ParseError::bad_host: return "bad_host";
    case ParseError::bad_status: return "bad_status";
  }
  return "unknown";
}

}  // namespace lb::http1
