// libFuzzer target: the HTTP/2-to-HTTP/1.1 request translation (native/http2/
// request_translator.h), fields straight from the input, no HPACK in the way.
//
// Input: byte 0 bit 0 is END_STREAM on HEADERS; the rest is fields, one per line ('\n'),
// name and value split at the first ':' after the name's first byte (":method:GET").
// Invariant: a translated head is exactly one well-formed HTTP/1.1 request whose method,
// target and Host are the pseudo-headers', with one header line per forwarded field plus
// Host, the joined Cookie and the framing line, nothing else (a CR, LF or NUL that slipped
// through would add lines); and input holding CR, LF or NUL never translates.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http1/parser.h"
#include "http2/request_translator.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

lb::http1::MessageHead g_parsed;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool end_stream = data[0] & 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  lb::http2::SessionLimits limits;
  lb::http2::RequestTranslator translator(limits);
  std::string method, path, authority, host;
  bool has_cookie = false;
  bool forbidden_bytes = false;
  uint32_t forwarded = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const size_t colon = line.find(':', 1);
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) forbidden_bytes = true;
    if (name == ":method") method = value;
    if (name == ":path") path = value;
    if (name == ":authority") authority = value;
    if (name == "host") host = value;
    if (name == "cookie" && !value.empty()) has_cookie = true;
    if (!name.empty() && name[0] != ':' && name != "host" && name != "cookie" && name != "te" &&
        name != "content-length") {
      ++forwarded;
    }
    translator.add(name, value);
  }
  lb::http2::RequestHead head;
  if (!translator.finish(end_stream, head)) {
    FUZZ_CHECK(head.http1.empty());
    return 0;
  }
  FUZZ_CHECK(!forbidden_bytes);
  lb::http1::HeadLimits roomy;
  roomy.max_start_line = 1u << 20;
  roomy.max_head_bytes = 1u << 20;
  roomy.max_header_count = lb::http1::kMaxHeaderFields;
  const auto result = lb::http1::parse_request_head(head.http1.data(), head.http1.size(), roomy, g_parsed);
  FUZZ_CHECK(result.status == lb::http1::ParseStatus::done);
  FUZZ_CHECK(result.consumed == head.http1.size());
  FUZZ_CHECK(g_parsed.method_text == method);
  FUZZ_CHECK(g_parsed.target == path);
  FUZZ_CHECK(g_parsed.host == (authority.empty() ? host : authority));
  const uint32_t framing = (head.has_content_length || head.chunked_body) ? 1 : 0;
  FUZZ_CHECK(g_parsed.header_count == 1 + forwarded + (has_cookie ? 1 : 0) + framing);
  if (end_stream) FUZZ_CHECK(g_parsed.body == lb::http1::BodyKind::none || head.content_length == 0);
  return 0;
}
