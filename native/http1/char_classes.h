// Character classes of HTTP/1.x (RFC 9110, RFC 9112, RFC 3986) as one 256-entry table.
//
// Private to native/http1. Every hot loop of the parser and of the chunked decoder is
// "advance while the byte is in class X": one table load and one AND per byte, no
// branches on ranges. All classes live in one table so the parser touches a single
// 256-byte cache line set.
#pragma once

#include <array>
#include <cstdint>

namespace lb::http1::chars {

enum : uint8_t {
  kTchar = 1 << 0,       // token character: "!#$%&'*+-.^_`|~" DIGIT ALPHA
  kFieldValue = 1 << 1,  // field-value byte: SP, HTAB, VCHAR, obs-text (0x80-0xFF)
  kTarget = 1 << 2,      // request-target byte: VCHAR except '#' (no fragments, no 8-bit)
  kHex = 1 << 3,         // HEXDIG
  kDigit = 1 << 4,       // DIGIT
  kRegName = 1 << 5,     // reg-name / IPv4 byte: unreserved, sub-delims except ',', '%'
  kQdText = 1 << 6,      // quoted-string text: HTAB SP 0x21 0x23-0x5B 0x5D-0x7E obs-text
  kWhitespace = 1 << 7,  // SP or HTAB (OWS / BWS)
};

namespace detail {

constexpr bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(int c) { return c >= '0' && c <= '9'; }

constexpr bool in(const char* set, int c) {
  for (; *set; ++set) {
    if (*set == c) return true;
  }
  return false;
}

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool vchar = c >= 0x21 && c <= 0x7e;
    if (is_alpha(c) || is_digit(c) || in("!#$%&'*+-.^_`|~", c)) v |= kTchar;
    if (vchar || c == ' ' || c == '\t' || c >= 0x80) v |= kFieldValue;
    if (vchar && c != '#') v |= kTarget;
    if (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHex;
    if (is_digit(c)) v |= kDigit;
    if (is_alpha(c) || is_digit(c) || in("-._~!$&'()*+;=%", c)) v |= kRegName;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80) {
      v |= kQdText;
    }
    if (c == ' ' || c == '\t') v |= kWhitespace;
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}

constexpr std::array<uint8_t, 256> make_lower() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<size_t>(c)] = static_cast<uint8_t>((c >= 'A' && c <= 'Z') ? c + 32 : c);
  }
  return t;
}

}  // namespace detail

inline constexpr std::array<uint8_t, 256> kClasses = detail::make_classes();
inline constexpr std::array<uint8_t, 256> kLower = detail::make_lower();

inline bool is(char c, uint8_t cls) { return (kClasses[static_cast<uint8_t>(c)] & cls) != 0; }
inline uint8_t lower(char c) { return kLower[static_cast<uint8_t>(c)]; }

inline uint8_t hex_value(char c) {
  const uint8_t l = lower(c);
  return l <= '9' ? static_cast<uint8_t>(l - '0') : static_cast<uint8_t>(l - 'a' + 10);
}

}  // namespace lb::http1::chars
