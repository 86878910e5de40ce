// Invariants shared by the request and response head fuzzers (not a fuzz target itself:
// only files named *_fuzzer.cpp are built as targets).
//
// What every parse must satisfy whatever the bytes: consumed and offsets within the input,
// views of a done head inside the head, header names that are tokens and values without
// line breaks or untrimmed whitespace; and, the strongest one, that parsing a prefix of
// the input gives need_more or exactly the result of the whole input, so a head arriving
// in pieces is judged the same as a head arriving at once.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "http1/parser.h"

namespace lb::fuzz {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

using http1::BodyKind;
using http1::HeadLimits;
using http1::MessageHead;
using http1::ParseError;
using http1::ParseResult;
using http1::ParseStatus;

inline bool inside(std::string_view v, const char* begin, size_t len) {
  if (v.empty()) return true;
  return v.data() >= begin && v.data() + v.size() <= begin + len;
}

inline bool is_tchar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
         (u != 0 && std::strchr("!#$%&'*+-.^_`|~", u) != nullptr);
}

inline bool is_ws(char c) { return c == ' ' || c == '\t'; }

// Limits chosen by the input, so that the boundaries are exercised, not only the defaults.
inline HeadLimits limits_from(uint8_t mode, uint8_t param) {
  HeadLimits limits;
  switch (mode % 4) {
    case 0: break;  // the defaults
    case 1:
      limits.max_start_line = 8u + param % 64u;
      limits.max_head_bytes = 16u + param;
      limits.max_header_count = param % 8u;
      break;
    case 2:
      limits.max_start_line = param;
      limits.max_head_bytes = 4096;
      limits.max_header_count = 100000;  // above the hard ceiling
      break;
    case 3:
      limits.max_start_line = 100000;
      limits.max_head_bytes = 32u + 4u * param;
      limits.max_header_count = 2u + param % 32u;
      break;
  }
  return limits;
}

// The framing facts of a done head, recomputed the naive way from its header list: the
// smuggling rules (never CL with TE, TE only exactly "chunked", CL values all equal).
inline void check_framing(const MessageHead& h, bool is_request) {
  bool has_te = false;
  bool has_cl = false;
  uint32_t hosts = 0;
  for (uint32_t i = 0; i < h.header_count; ++i) {
    const http1::HeaderField& f = h.headers[i];
    if (http1::equals_ignore_case(f.name, "host")) ++hosts;
    if (http1::equals_ignore_case(f.name, "transfer-encoding")) {
      FUZZ_CHECK(!has_te);  // a second one would say chunked twice
      FUZZ_CHECK(http1::equals_ignore_case(f.value, "chunked"));
      has_te = true;
    }
    if (http1::equals_ignore_case(f.name, "content-length")) {
      has_cl = true;
      // Every element of every Content-Length is the same number.
      uint64_t n = 0;
      bool digits = false;
      for (size_t j = 0; j <= f.value.size(); ++j) {
        const char c = j < f.value.size() ? f.value[j] : ',';
        if (c >= '0' && c <= '9') {
          n = n * 10 + static_cast<uint64_t>(c - '0');
          digits = true;
        } else if (c == ',') {
          FUZZ_CHECK(digits);
          FUZZ_CHECK(n == h.content_length);
          n = 0;
          digits = false;
        } else {
          FUZZ_CHECK(is_ws(c));
        }
      }
    }
  }
  FUZZ_CHECK(!(has_te && has_cl));
  if (is_request) {
    FUZZ_CHECK(hosts <= 1);
    const BodyKind expected = has_te ? BodyKind::chunked : has_cl ? BodyKind::content_length : BodyKind::none;
    FUZZ_CHECK(h.body == expected);
  } else {
    if (h.body == BodyKind::chunked) FUZZ_CHECK(has_te);
    if (h.body == BodyKind::content_length) FUZZ_CHECK(has_cl);
    if (has_te && h.body != BodyKind::none) FUZZ_CHECK(h.body == BodyKind::chunked || h.body == BodyKind::until_close);
  }
}

// Checks a result on its own against the input it came from.
inline void check_result(const ParseResult& r, const MessageHead& h, const char* data, size_t len,
                         const HeadLimits& limits, bool is_request) {
  FUZZ_CHECK(r.consumed <= len);
  switch (r.status) {
    case ParseStatus::need_more:
      FUZZ_CHECK(r.error == ParseError::none);
      FUZZ_CHECK(r.consumed == 0);
      FUZZ_CHECK(len < limits.max_head_bytes);  // a full window is never need_more
      break;
    case ParseStatus::error:
      FUZZ_CHECK(r.error != ParseError::none);
      FUZZ_CHECK(r.consumed == 0);
      FUZZ_CHECK(r.error_offset <= len);
      if (r.error == ParseError::head_too_large) {
        FUZZ_CHECK(r.error_offset == limits.max_head_bytes);
      } else {
        FUZZ_CHECK(r.error_offset < len);
      }
      if (r.error == ParseError::start_line_too_long) {
        FUZZ_CHECK(r.error_offset >= limits.max_start_line);
      }
      if (r.error == ParseError::bare_lf) {
        FUZZ_CHECK(data[r.error_offset] == '\n');
        FUZZ_CHECK(r.error_offset == 0 || data[r.error_offset - 1] != '\r');
      }
      if (r.error == ParseError::bare_cr) {
        FUZZ_CHECK(data[r.error_offset] == '\r');
        FUZZ_CHECK(r.error_offset + 1 < len && data[r.error_offset + 1] != '\n');
      }
      break;
    case ParseStatus::done: {
      FUZZ_CHECK(r.error == ParseError::none);
      FUZZ_CHECK(r.consumed == h.head_bytes);
      FUZZ_CHECK(r.consumed >= 4 && r.consumed <= limits.max_head_bytes);
      FUZZ_CHECK(std::memcmp(data + r.consumed - 4, "\r\n\r\n", 4) == 0);
      const size_t n = r.consumed;
      FUZZ_CHECK(h.header_count <= limits.max_header_count);
      FUZZ_CHECK(h.header_count <= http1::kMaxHeaderFields);
      FUZZ_CHECK(h.version_minor <= 1);
      for (uint32_t i = 0; i < h.header_count; ++i) {
        const http1::HeaderField& f = h.headers[i];
        FUZZ_CHECK(!f.name.empty());
        FUZZ_CHECK(inside(f.name, data, n));
        FUZZ_CHECK(inside(f.value, data, n));
        for (char c : f.name) FUZZ_CHECK(is_tchar(c));
        for (char c : f.value) {
          const unsigned char u = static_cast<unsigned char>(c);
          FUZZ_CHECK(u == '\t' || (u >= 0x20 && u != 0x7f));
        }
        if (!f.value.empty()) {
          FUZZ_CHECK(!is_ws(f.value.front()));
          FUZZ_CHECK(!is_ws(f.value.back()));
        }
        if (http1::equals_ignore_case(f.name, "content-length") ||
            http1::equals_ignore_case(f.name, "transfer-encoding") || http1::equals_ignore_case(f.name, "connection")) {
          FUZZ_CHECK(f.hop_by_hop);
        }
      }
      check_framing(h, is_request);
      FUZZ_CHECK(inside(h.host, data, n));
      FUZZ_CHECK(inside(h.upgrade, data, n));
      if (is_request) {
        FUZZ_CHECK(!h.method_text.empty() && !h.target.empty());
        FUZZ_CHECK(inside(h.method_text, data, n));
        FUZZ_CHECK(inside(h.target, data, n));
        FUZZ_CHECK(h.method_text.size() + h.target.size() + 10 <= limits.max_start_line);
        FUZZ_CHECK(h.body != BodyKind::until_close);
        if (h.version_minor == 1) FUZZ_CHECK(!h.host.empty());
        for (char c : h.host) FUZZ_CHECK(c != ' ' && c != '/' && c != '@' && c != ',');
        for (char c : h.target) {
          const unsigned char u = static_cast<unsigned char>(c);
          FUZZ_CHECK(u > 0x20 && u < 0x7f && u != '#');
        }
      } else {
        FUZZ_CHECK(h.status >= 100 && h.status <= 999);
        FUZZ_CHECK(inside(h.reason, data, n));
      }
      if (h.body == BodyKind::chunked) FUZZ_CHECK(h.version_minor == 1);
      break;
    }
  }
}

inline bool same_result(const ParseResult& a, const ParseResult& b) {
  return a.status == b.status && a.error == b.error && a.error_offset == b.error_offset && a.consumed == b.consumed;
}

// Same parsed head, views compared by address (both parses read the same buffer).
inline bool same_view(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || a.data() == b.data());
}

inline bool same_head(const MessageHead& a, const MessageHead& b) {
  if (a.method != b.method || !same_view(a.method_text, b.method_text) || !same_view(a.target, b.target) ||
      a.status != b.status || !same_view(a.reason, b.reason) || a.version_minor != b.version_minor ||
      a.head_bytes != b.head_bytes || a.header_count != b.header_count || a.body != b.body ||
      a.content_length != b.content_length || a.connection_close != b.connection_close ||
      a.connection_keep_alive != b.connection_keep_alive || a.connection_upgrade != b.connection_upgrade ||
      a.has_upgrade_header != b.has_upgrade_header || a.expect_continue != b.expect_continue ||
      !same_view(a.host, b.host) || !same_view(a.upgrade, b.upgrade)) {
    return false;
  }
  for (uint32_t i = 0; i < a.header_count; ++i) {
    if (!same_view(a.headers[i].name, b.headers[i].name) || !same_view(a.headers[i].value, b.headers[i].value) ||
        a.headers[i].hop_by_hop != b.headers[i].hop_by_hop) {
      return false;
    }
  }
  return true;
}

// The scan and the parser agree: a head end found by the scan is never need_more for the
// parser (and is its end when it parses), and a bare LF seen by the scan is an error.
inline void check_scan_agrees(const char* data, size_t len, const ParseResult& full, size_t split) {
  http1::HeadEndScan whole = http1::scan_head_end(data, len, 0);
  FUZZ_CHECK(whole.head_length <= len);
  FUZZ_CHECK(!(whole.bare_lf && whole.head_length != 0));
  if (whole.bare_lf) FUZZ_CHECK(full.status == ParseStatus::error);
  if (whole.head_length != 0) {
    FUZZ_CHECK(full.status != ParseStatus::need_more);
    if (full.status == ParseStatus::done) FUZZ_CHECK(full.consumed == whole.head_length);
  }
  if (full.status == ParseStatus::done) FUZZ_CHECK(whole.head_length == full.consumed);
  // Resuming after a split finds the same thing.
  if (split > len) split = len;
  http1::HeadEndScan first = http1::scan_head_end(data, split, 0);
  if (first.head_length == 0 && !first.bare_lf) {
    FUZZ_CHECK(first.next_from <= split);
    http1::HeadEndScan second = http1::scan_head_end(data, len, first.next_from);
    FUZZ_CHECK(second.head_length == whole.head_length);
    FUZZ_CHECK(second.bare_lf == whole.bare_lf);
  } else {
    FUZZ_CHECK(first.head_length == whole.head_length);
    FUZZ_CHECK(first.bare_lf == whole.bare_lf);
  }
}

// Prefix lengths to re-parse: a few chosen by the seed, and those next to the places the
// full parse stopped at.
template <typename Fn>
void for_each_prefix(size_t len, uint8_t seed, const ParseResult& full, Fn&& fn) {
  uint32_t x = 0x9e3779b9u ^ (static_cast<uint32_t>(seed) * 0x85ebca6bu);
  for (int i = 0; i < 4; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    fn(len == 0 ? 0 : x % len);
  }
  if (len > 0) fn(len - 1);
  if (full.status == ParseStatus::error) {
    if (full.error_offset < len) fn(full.error_offset);
    if (full.error_offset + 1 <= len) fn(full.error_offset + 1);
  }
  if (full.status == ParseStatus::done) {
    fn(full.consumed);  // exactly the head: done, identical
    fn(full.consumed - 1);
  }
}

}  // namespace lb::fuzz
