// libFuzzer target: the request head parser (native/http1/parser.h).
//
// Input: byte 0 picks the limits (mode and parameter in one byte, see limits_from),
// byte 1 seeds the prefix lengths re-parsed, the rest is the request. Beyond "no crash
// under ASan/UBSan" it checks the invariants of head_invariants.h: offsets and views in
// bounds, every prefix need_more or identical to the whole, the scan agreeing with the
// parser; that a head rebuilt from a done parse parses to the same facts; and that the
// incremental request-line check agrees with the parser (never refuses what it accepts).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/head_invariants.h"

namespace {

using namespace lb::fuzz;
using lb::http1::parse_request_head;

MessageHead g_full;
MessageHead g_part;

// Rebuilds a head from what was parsed: it must parse again, to the same facts.
void check_round_trip(const MessageHead& h) {
  std::string s;
  s.append(h.method_text).append(" ").append(h.target);
  s.append(h.version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  for (uint32_t i = 0; i < h.header_count; ++i) {
    s.append(h.headers[i].name).append(": ").append(h.headers[i].value).append("\r\n");
  }
  s.append("\r\n");
  HeadLimits roomy;
  roomy.max_start_line = 1u << 20;
  roomy.max_head_bytes = 1u << 20;
  roomy.max_header_count = lb::http1::kMaxHeaderFields;
  ParseResult r = parse_request_head(s.data(), s.size(), roomy, g_part);
  FUZZ_CHECK(r.status == ParseStatus::done);
  FUZZ_CHECK(r.consumed == s.size());
  FUZZ_CHECK(g_part.method == h.method);
  FUZZ_CHECK(g_part.target == h.target);
  FUZZ_CHECK(g_part.header_count == h.header_count);
  FUZZ_CHECK(g_part.body == h.body);
  FUZZ_CHECK(g_part.content_length == h.content_length);
  FUZZ_CHECK(g_part.host == h.host);
  FUZZ_CHECK(g_part.connection_close == h.connection_close);
  FUZZ_CHECK(g_part.connection_keep_alive == h.connection_keep_alive);
  FUZZ_CHECK(g_part.connection_upgrade == h.connection_upgrade);
  FUZZ_CHECK(g_part.expect_continue == h.expect_continue);
  for (uint32_t i = 0; i < h.header_count; ++i) {
    FUZZ_CHECK(g_part.headers[i].value == h.headers[i].value);
    FUZZ_CHECK(g_part.headers[i].hop_by_hop == h.headers[i].hop_by_hop);
  }
}

// The request-line check a connection runs while a head arrives, fed the input in pieces
// whose sizes come from `seed` (1 to 8 bytes, some calls repeated with no new byte):
//   - it never refuses a prefix of a request the whole parse accepts (nor one that still
//     needs more), and when it refuses, the whole input is refused with the same error at
//     the same offset: an early answer is always the answer the full parse would give;
//   - it looks at each byte once (`scanned` never moves back, never past the input).
void check_request_line_agrees(const char* data, size_t len, const HeadLimits& limits, const ParseResult& full,
                               uint8_t seed) {
  lb::http1::RequestLineCheck check;
  uint32_t x = 0x2545f491u ^ (static_cast<uint32_t>(seed) * 0x9e3779b9u);
  size_t have = 0;
  while (have < len) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    have = have + 1 + x % 8;
    if (have > len) have = len;
    const int calls = (x >> 8) % 4 == 0 ? 2 : 1;
    for (int c = 0; c < calls; ++c) {
      const uint32_t before = check.scanned;
      const ParseResult r = lb::http1::check_request_line(data, have, limits, check, g_part);
      FUZZ_CHECK(check.scanned >= before && check.scanned <= have);
      if (r.status == ParseStatus::need_more) continue;
      FUZZ_CHECK(r.status == ParseStatus::error);
      FUZZ_CHECK(full.status == ParseStatus::error);
      FUZZ_CHECK(r.error == full.error && r.error_offset == full.error_offset);
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 2) return 0;
  const HeadLimits limits = limits_from(static_cast<uint8_t>(bytes[0] & 3), bytes[0]);
  const uint8_t seed = bytes[1];
  const char* data = reinterpret_cast<const char*>(bytes + 2);
  const size_t len = size - 2;

  const ParseResult full = parse_request_head(data, len, limits, g_full);
  check_result(full, g_full, data, len, limits, true);

  for_each_prefix(len, seed, full, [&](size_t k) {
    const ParseResult part = parse_request_head(data, k, limits, g_part);
    check_result(part, g_part, data, k, limits, true);
    if (part.status == ParseStatus::need_more) {
      FUZZ_CHECK(k < len || full.status == ParseStatus::need_more);
      return;
    }
    FUZZ_CHECK(same_result(part, full));
    if (part.status == ParseStatus::done) FUZZ_CHECK(same_head(g_part, g_full));
  });

  check_scan_agrees(data, len, full, seed * len / 256);
  check_request_line_agrees(data, len, limits, full, seed);

  if (full.status == ParseStatus::done) {
    // g_part was overwritten by the prefixes; re-parse into it and compare, then rebuild.
    const ParseResult again = parse_request_head(data, len, limits, g_part);
    FUZZ_CHECK(same_result(again, full) && same_head(g_part, g_full));
    check_round_trip(g_full);
  }
  return 0;
}
