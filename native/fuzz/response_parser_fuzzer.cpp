// libFuzzer target: the response head parser (native/http1/parser.h).
//
// Input: byte 0 picks the limits, byte 1 seeds the prefix lengths re-parsed, byte 2 the
// method of the request being answered; the rest is the response. Checks the invariants
// of head_invariants.h plus the body rules of RFC 9112 6.3 as parser.h states them.
#include <cstddef>
#include <cstdint>

#include "fuzz/head_invariants.h"

namespace {

using namespace lb::fuzz;
using lb::http1::Method;
using lb::http1::parse_response_head;

MessageHead g_full;
MessageHead g_part;

constexpr Method kMethods[] = {Method::get,     Method::head,  Method::post,    Method::put,   Method::delete_,
                               Method::options, Method::trace, Method::connect, Method::patch, Method::other};

void check_body_rules(const MessageHead& h, Method method) {
  const uint16_t s = h.status;
  if (method == Method::head || s < 200 || s == 204 || s == 304) {
    FUZZ_CHECK(h.body == BodyKind::none);
  } else if (method == Method::connect && s < 300) {
    FUZZ_CHECK(h.body == BodyKind::until_close);
  } else {
    FUZZ_CHECK(h.body != BodyKind::none);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 3) return 0;
  const HeadLimits limits = limits_from(static_cast<uint8_t>(bytes[0] & 3), bytes[0]);
  const uint8_t seed = bytes[1];
  const Method method = kMethods[bytes[2] % (sizeof(kMethods) / sizeof(kMethods[0]))];
  const char* data = reinterpret_cast<const char*>(bytes + 3);
  const size_t len = size - 3;

  const ParseResult full = parse_response_head(data, len, limits, method, g_full);
  check_result(full, g_full, data, len, limits, false);
  if (full.status == ParseStatus::done) check_body_rules(g_full, method);

  for_each_prefix(len, seed, full, [&](size_t k) {
    const ParseResult part = parse_response_head(data, k, limits, method, g_part);
    check_result(part, g_part, data, k, limits, false);
    if (part.status == ParseStatus::need_more) {
      FUZZ_CHECK(k < len || full.status == ParseStatus::need_more);
      return;
    }
    FUZZ_CHECK(same_result(part, full));
    if (part.status == ParseStatus::done) FUZZ_CHECK(same_head(g_part, g_full));
  });

  check_scan_agrees(data, len, full, seed * len / 256);
  return 0;
}
