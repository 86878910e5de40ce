// libFuzzer target: H2ServerSession (native/http2) fed arbitrary bytes after the client
// preface, in reads whose sizes and timing the input chooses, by an owner that answers,
// holds, resets or streams as the input says.
//
// Input: byte 0 seeds the read sizes, clock steps and stall checks, byte 1 the owner's
// behaviour, the rest follows "PRI * HTTP/2.0...". Beyond "no crash under ASan/UBSan":
//   - every request head the owner receives parses, with http1's parser, as exactly one
//     well-formed HTTP/1.1 request (what reaches a backend is never two requests);
//   - per stream the events come in order: head, data, end, closed; nothing after closed;
//     no data after end; body bytes never exceed a stated content-length;
//   - nghttp2's memory stays within the session's budget, queued response bytes within
//     the per-stream bound.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "http1/parser.h"
#include "http2/h2_server_session.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

using namespace lb::http2;

lb::http1::MessageHead g_parsed;
lb::http1::MessageHead g_response;

struct StreamRecord {
  bool ended = false;
  bool closed = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  uint64_t received = 0;
  bool responded = false;
};

class FuzzOwner : public SessionOwner {
 public:
  explicit FuzzOwner(uint8_t behaviour) : behaviour_(behaviour) {}
  H2ServerSession* session = nullptr;
  std::map<int32_t, StreamRecord> streams;

  void on_request_head(int32_t id, const RequestHead& head) override {
    FUZZ_CHECK(!streams.contains(id));
    StreamRecord& s = streams[id];
    s.has_content_length = head.has_content_length;
    s.content_length = head.content_length;
    lb::http1::HeadLimits limits;
    limits.max_start_line = 1u << 20;
    limits.max_head_bytes = 1u << 20;
    limits.max_header_count = lb::http1::kMaxHeaderFields;
    const auto result = lb::http1::parse_request_head(head.http1.data(), head.http1.size(), limits, g_parsed);
    FUZZ_CHECK(result.status == lb::http1::ParseStatus::done);
    FUZZ_CHECK(result.consumed == head.http1.size());
    FUZZ_CHECK(!g_parsed.host.empty());
    FUZZ_CHECK(g_parsed.version_minor == 1);
    FUZZ_CHECK(head.chunked_body == (g_parsed.body == lb::http1::BodyKind::chunked));
    FUZZ_CHECK(head.has_content_length == (g_parsed.body == lb::http1::BodyKind::content_length));
    if (!head.has_body) FUZZ_CHECK(g_parsed.body != lb::http1::BodyKind::chunked);
    if (behaviour_ & 1) respond(id, head.is_head);
  }

  void on_request_data(int32_t id, std::span<const uint8_t> bytes) override {
    FUZZ_CHECK(streams.contains(id));
    StreamRecord& s = streams[id];
    FUZZ_CHECK(!s.ended && !s.closed);
    s.received += bytes.size();
    if (s.has_content_length) FUZZ_CHECK(s.received <= s.content_length);
    if (!(behaviour_ & 2)) session->consume_request_body(id, bytes.size());
  }

  void on_request_end(int32_t id, std::string_view trailers) override {
    FUZZ_CHECK(streams.contains(id));
    StreamRecord& s = streams[id];
    FUZZ_CHECK(!s.ended && !s.closed);
    if (s.has_content_length) FUZZ_CHECK(s.received == s.content_length);
    FUZZ_CHECK(trailers.find('\0') == std::string_view::npos);
    s.ended = true;
    if ((behaviour_ & 4) && !s.responded) respond(id, false);
    if (behaviour_ & 8) session->reset_stream(id, 0x8);
  }

  void on_stream_closed(int32_t id, bool, uint32_t) override {
    FUZZ_CHECK(streams.contains(id));
    FUZZ_CHECK(!streams[id].closed);
    streams[id].closed = true;
  }

  void on_response_writable(int32_t id) override {
    FUZZ_CHECK(streams.contains(id));
    FUZZ_CHECK(!streams[id].closed);
  }

 private:
  void respond(int32_t id, bool is_head) {
    streams[id].responded = true;
    static const char kInterim[] = "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n";
    static const char kFinal[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: x-drop\r\nX-Drop: 1\r\nX-Keep: 2\r\n\r\n";
    lb::http1::HeadLimits limits;
    const auto method = is_head ? lb::http1::Method::head : lb::http1::Method::get;
    if (behaviour_ & 16) {
      FUZZ_CHECK(lb::http1::parse_response_head(kInterim, sizeof kInterim - 1, limits, method, g_response).status ==
                 lb::http1::ParseStatus::done);
      session->submit_response_head(id, g_response);
    }
    FUZZ_CHECK(lb::http1::parse_response_head(kFinal, sizeof kFinal - 1, limits, method, g_response).status ==
               lb::http1::ParseStatus::done);
    session->submit_response_head(id, g_response);
    const std::string body(static_cast<size_t>(behaviour_ >> 5) * 20000 + 1, 'r');
    session->send_response_body(id, {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
    if (!(behaviour_ & 32)) {
      lb::http1::HeaderField trailers[] = {{"grpc-status", "0", false}, {"Connection", "close", false}};
      session->end_response(id, trailers);
    }
  }

  uint8_t behaviour_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint32_t seed = data[0];
  FuzzOwner owner(data[1]);
  SessionLimits limits;
  limits.library_memory_budget = 256 * 1024;
  limits.max_queued_response_bytes = 32768;
  limits.stall_timeout_ms = 200;
  H2ServerSession session(owner, limits, 0);
  owner.session = &session;
  if (!session.start()) return 0;

  std::string input = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  input.append(reinterpret_cast<const char*>(data + 2), size - 2);
  size_t pos = 0;
  uint64_t now = 0;
  while (pos < input.size()) {
    seed = seed * 1103515245u + 12345u;
    const size_t chunk = 1 + (seed >> 16) % 512;
    const size_t n = std::min(chunk, input.size() - pos);
    now += (seed >> 8) % 64;
    const FeedResult result = session.feed({reinterpret_cast<const uint8_t*>(input.data() + pos), n}, now);
    pos += n;
    if ((seed >> 4) & 1) session.reset_stalled_streams(now);
    for (;;) {
      std::span<const uint8_t> out = session.pending_output();
      if (out.empty()) break;
      session.output_sent(out.size());
    }
    FUZZ_CHECK(session.library_bytes() <= limits.library_memory_budget);
    FUZZ_CHECK(session.queued_response_bytes() <= size_t{limits.max_queued_response_bytes} * 101);
    if (result != FeedResult::ok) break;
  }
  return 0;
}
