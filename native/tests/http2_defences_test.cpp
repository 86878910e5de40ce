// Each defence of H2ServerSession fired by the raw frames of its attack: the connection
// gets GOAWAY ENHANCE_YOUR_CALM (or its stream a refusal), the counter moves, the streams
// it had are closed for their owner (backend work cancelled), and a budget spent over
// time, not in a burst, does not fire.
#include <string>

#include "http2/h2_server_session.h"
#include "tests/http2_test_support.h"
#include "tests/test_framework.h"

namespace {

using namespace lb::http2;
using namespace lb::http2_testing;

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kPriority = 0x2, kRstStream = 0x3, kPing = 0x6, kWindowUpdate = 0x8,
                  kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4;
constexpr int64_t kEnhanceYourCalm = 0xb;

Fields request_fields(const char* method = "GET") {
  return {{":method", method}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}};
}

std::string u32(uint32_t v) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

// A server fed raw bytes, keeping everything it wrote.
struct RawConnection {
  SessionLimits limits;
  RecordingOwner owner;
  std::unique_ptr<H2ServerSession> server;
  std::string written;

  explicit RawConnection(SessionLimits l = {}) : limits(l) {
    server = std::make_unique<H2ServerSession>(owner, limits, 0);
    owner.session = server.get();
    CHECK(server->start());
  }
  FeedResult send(const std::string& bytes, uint64_t now_ms = 0) {
    const FeedResult result = server->feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, now_ms);
    written += drain(*server);
    return result;
  }
  int64_t goaway() const { return goaway_error(parse_frames(written)); }
};

std::string opening() { return preface() + settings_frame(); }

// A normal exchange on a fresh connection: the attack on another one does not stop it.
bool another_client_is_served() {
  SessionLimits limits;
  RecordingOwner owner;
  TestClient client;
  H2ServerSession server(owner, limits, 0);
  owner.session = &server;
  if (!server.start()) return false;
  const int32_t id = client.request(get("/ok"));
  pump(client, server);
  return owner.streams[id].ended;
}

}  // namespace

TEST(http2_defence_rapid_reset_gets_goaway_enhance_your_calm_and_cancels_the_streams) {
  SessionLimits limits;
  limits.stream_resets = {20, 10};
  RawConnection c(limits);
  std::string attack = opening();
  for (uint32_t id = 1; id <= 2 * 25; id += 2) {
    attack += frame(kHeaders, kEndHeaders | kEndStream, id, literal_block(request_fields()));
    attack += frame(kRstStream, 0, id, u32(NGHTTP2_CANCEL));
  }
  CHECK(c.send(attack) == FeedResult::closing);
  CHECK_EQ(c.goaway(), kEnhanceYourCalm);
  CHECK(c.server->ended_by() == Defence::rapid_reset);
  CHECK_EQ(c.server->counters().ended_by(Defence::rapid_reset), uint64_t{1});
  // Every stream the owner started was closed, not completed: its backend work is cancelled.
  CHECK(!c.owner.streams.empty());
  for (auto& [id, s] : c.owner.streams) CHECK(s.closed && !s.completed);
  CHECK(another_client_is_served());
}

TEST(http2_defence_resets_spread_over_time_stay_within_the_budget) {
  SessionLimits limits;
  limits.stream_resets = {20, 10};
  RawConnection c(limits);
  CHECK(c.send(opening()) == FeedResult::ok);
  uint64_t now = 0;
  for (uint32_t id = 1; id <= 2 * 60; id += 2) {
    now += 150;  // ~6.7 resets a second, under the 10 a second refill
    const std::string bytes = frame(kHeaders, kEndHeaders | kEndStream, id, literal_block(request_fields())) +
                              frame(kRstStream, 0, id, u32(NGHTTP2_CANCEL));
    CHECK(c.send(bytes, now) == FeedResult::ok);
  }
  CHECK_EQ(c.goaway(), int64_t{-1});
  CHECK_EQ(c.server->counters().streams_reset_by_client, uint64_t{60});
}

TEST(http2_defence_malformed_requests_count_against_the_reset_budget) {
  // "Made you reset": each malformed request makes the server reset a stream.
  SessionLimits limits;
  limits.stream_resets = {10, 1};
  RawConnection c(limits);
  std::string attack = opening();
  Fields bad = request_fields();
  bad.emplace_back("connection", "close");
  for (uint32_t id = 1; id <= 2 * 15; id += 2)
    attack += frame(kHeaders, kEndHeaders | kEndStream, id, literal_block(bad));
  // nghttp2 refuses `connection` itself; its resets are charged as they go out.
  c.send(attack);
  CHECK_EQ(c.goaway(), kEnhanceYourCalm);
  CHECK(c.server->ended_by() == Defence::rapid_reset);
}

TEST(http2_defence_continuation_flood_ends_the_connection_before_the_block_is_decoded) {
  RawConnection c;
  std::string attack = opening() + frame(kHeaders, 0, 1, literal_block(request_fields()));
  for (int i = 0; i < 9; ++i) attack += frame(kContinuation, 0, 1, literal_block({{"x-c", "1"}}));
  CHECK(c.send(attack) == FeedResult::closing);
  CHECK_EQ(c.goaway(), kEnhanceYourCalm);
  CHECK(c.server->ended_by() == Defence::continuation_flood);
  CHECK(c.owner.streams.empty());
  CHECK(another_client_is_served());
}

TEST(http2_defence_eight_continuations_are_still_a_request) {
  RawConnection c;
  std::string bytes = opening() + frame(kHeaders, 0, 1, literal_block(request_fields()));
  for (int i = 0; i < 7; ++i) bytes += frame(kContinuation, 0, 1, literal_block({{"x-c" + std::to_string(i), "1"}}));
  bytes += frame(kContinuation, kEndHeaders, 1, literal_block({{"x-last", "1"}}));
  CHECK(c.send(bytes) == FeedResult::ok);
  CHECK_EQ(c.owner.streams.size(), size_t{1});
  CHECK(c.owner.streams[1].head.find("x-last: 1\r\n") != std::string::npos);
}

TEST(http2_defence_header_block_over_its_size_ends_the_connection) {
  SessionLimits limits;
  limits.max_header_block_bytes = 8192;
  RawConnection c(limits);
  std::string attack = opening() + frame(kHeaders, 0, 1, literal_block(request_fields()));
  attack += frame(kContinuation, 0, 1, literal_block({{"x-a", std::string(5000, 'a')}}));
  attack += frame(kContinuation, kEndHeaders, 1, literal_block({{"x-b", std::string(5000, 'b')}}));
  CHECK(c.send(attack) == FeedResult::closing);
  CHECK_EQ(c.goaway(), kEnhanceYourCalm);
  CHECK(c.server->ended_by() == Defence::header_block_too_large);
}

TEST(http2_defence_hpack_bomb_is_answered_431_without_holding_the_decoded_list) {
  // One 4,000-byte entry in the dynamic table, then 2,000 one-byte references to it: 8 MB
  // of decoded fields from 6 KB on the wire.
  RawConnection c;
  std::string block = literal_block(request_fields());
  block.push_back(0x40);  // literal with incremental indexing, new name
  block += std::string("\x06x-bomb", 7);
  block += std::string("\x7f\xa1\x1e", 3);  // length 4000 (127 + 3873)
  block += std::string(4000, 'b');
  block += std::string(2000, '\xbe');  // indexed field 62: the entry just added
  CHECK(c.send(opening() + frame(kHeaders, kEndHeaders | kEndStream, 1, block)) == FeedResult::ok);
  CHECK_EQ(c.server->counters().header_list_too_large, uint64_t{1});
  CHECK(c.owner.streams.empty());
  CHECK(c.server->library_bytes() < c.limits.library_memory_budget);
  HeaderDecoder decoder;
  bool answered = false;
  for (const SeenFrame& f : parse_frames(c.written)) {
    if (f.type != kHeaders) continue;
    const Fields fields = decoder.decode(f.payload);
    if (f.stream_id == 1 && !fields.empty() && fields[0].second == "431") answered = true;
  }
  CHECK(answered);
}

TEST(http2_defence_settings_ping_priority_window_update_and_empty_data_floods) {
  struct Flood {
    Defence defence;
    std::string one;  // one frame of the flood
    size_t count;
  };
  const std::string open_upload = frame(kHeaders, kEndHeaders, 1, literal_block(request_fields("POST")));
  const Flood floods[] = {
      {Defence::settings_flood, settings_frame({{0x3, 100}}), 40},
      {Defence::ping_flood, frame(kPing, 0, 0, std::string(8, 'p')), 40},
      {Defence::priority_flood, frame(kPriority, 0, 3, u32(1) + std::string(1, '\x10')), 600},
      {Defence::window_update_flood, frame(kWindowUpdate, 0, 0, u32(1)), 1100},
      {Defence::empty_data_flood, frame(kData, 0, 1, ""), 80},
  };
  for (const Flood& flood : floods) {
    RawConnection c;
    std::string attack = opening() + open_upload;
    for (size_t i = 0; i < flood.count; ++i) attack += flood.one;
    CHECK(c.send(attack) == FeedResult::closing);
    CHECK_EQ(c.goaway(), kEnhanceYourCalm);
    CHECK(c.server->ended_by() == flood.defence);
    CHECK_EQ(c.server->counters().ended_by(flood.defence), uint64_t{1});
    if (c.server->ended_by() != flood.defence) std::fprintf(stderr, "  flood %s\n", to_string(flood.defence));
    // The upload stream the owner had is closed for it.
    CHECK(c.owner.streams[1].closed && !c.owner.streams[1].completed);
  }
  CHECK(another_client_is_served());
}

TEST(http2_defence_padded_empty_data_counts_as_empty) {
  RawConnection c;
  std::string attack = opening() + frame(kHeaders, kEndHeaders, 1, literal_block(request_fields("POST")));
  for (int i = 0; i < 80; ++i) attack += frame(kData, 0x8, 1, std::string("\x03\0\0\0", 4));  // PADDED: 3 pad bytes
  CHECK(c.send(attack) == FeedResult::closing);
  CHECK(c.server->ended_by() == Defence::empty_data_flood);
}

TEST(http2_defence_control_frames_at_a_steady_pace_are_allowed) {
  RawConnection c;
  CHECK(c.send(opening()) == FeedResult::ok);
  uint64_t now = 0;
  for (int i = 0; i < 100; ++i) {
    now += 500;  // two PINGs a second, under the refill of four
    CHECK(c.send(frame(kPing, 0, 0, std::string(8, 'p')), now) == FeedResult::ok);
  }
  CHECK_EQ(c.goaway(), int64_t{-1});
}

TEST(http2_defence_more_than_max_concurrent_streams_are_refused) {
  RawConnection c;
  std::string bytes = opening();
  for (uint32_t id = 1; id <= 2 * 101; id += 2) {
    bytes += frame(kHeaders, kEndHeaders, id, literal_block(request_fields("POST")));
  }
  CHECK(c.send(bytes) == FeedResult::ok);
  CHECK_EQ(c.owner.streams.size(), size_t{100});
  CHECK_EQ(c.server->counters().refused_streams, uint64_t{1});
  bool refused_last = false;
  for (const SeenFrame& f : parse_frames(c.written)) {
    if (f.type == kRstStream && f.stream_id == 201 && f.payload == u32(NGHTTP2_REFUSED_STREAM)) refused_last = true;
  }
  CHECK(refused_last);
}

TEST(http2_defence_a_preface_that_is_not_http2_is_refused_before_any_byte_goes_out) {
  {
    RawConnection c;
    CHECK(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == FeedResult::not_http2);
    CHECK(c.server->looks_like_http1());
    CHECK(c.server->finished());
    CHECK_EQ(c.server->counters().ended_by(Defence::not_http2_preface), uint64_t{1});
  }
  {
    RawConnection c;
    CHECK(c.send("POST /x HTTP/1.1\r\n") == FeedResult::not_http2);
    CHECK(c.server->looks_like_http1());
  }
  {
    RawConnection c;
    CHECK(c.send(std::string("\x16\x03\x01\x02\x00\x01", 6)) == FeedResult::not_http2);
    CHECK(!c.server->looks_like_http1());
  }
  {
    // A preface arriving a byte at a time is fine.
    RawConnection c;
    const std::string bytes = opening() + frame(kHeaders, kEndHeaders | kEndStream, 1, literal_block(request_fields()));
    for (char b : bytes) CHECK(c.send(std::string(1, b)) == FeedResult::ok);
    CHECK_EQ(c.owner.streams.size(), size_t{1});
  }
}

TEST(http2_defence_library_memory_stays_within_its_budget) {
  SessionLimits limits;
  limits.library_memory_budget = 48 * 1024;
  RawConnection c(limits);
  std::string bytes = opening();
  for (uint32_t id = 1; id <= 2 * 100; id += 2) {
    bytes += frame(kHeaders, kEndHeaders, id, literal_block(request_fields("POST")));
  }
  const FeedResult result = c.send(bytes);
  CHECK(c.server->library_bytes() <= limits.library_memory_budget);
  if (result == FeedResult::closing) {
    CHECK(c.server->ended_by() == Defence::memory_budget);
    for (auto& [id, s] : c.owner.streams) CHECK(s.closed);
  } else {
    CHECK(c.owner.streams.size() == 100);  // it all fitted
  }
  std::fprintf(stderr, "  nghttp2 bytes with %zu streams open: %zu (budget %u)\n", c.owner.streams.size(),
               c.server->library_bytes(), limits.library_memory_budget);
}

TEST(http2_defence_queued_acks_of_a_client_that_never_reads_are_bounded) {
  SessionLimits limits;
  limits.ping_frames = {100000, 100000};  // leave it to nghttp2's queued-ACK cap
  RawConnection c(limits);
  std::string attack = opening();
  for (int i = 0; i < 200; ++i) attack += frame(kPing, 0, 0, std::string(8, 'p'));
  // Feed without draining the output, as a client that never reads would cause.
  const FeedResult result = c.server->feed({reinterpret_cast<const uint8_t*>(attack.data()), attack.size()}, 0);
  CHECK(result == FeedResult::closing);
  CHECK(c.server->ended_by() == Defence::library_flood);
}

TEST(http2_defence_a_response_stalled_on_a_zero_window_is_reset_after_the_timeout) {
  SessionLimits limits;
  limits.stall_timeout_ms = 10000;
  RecordingOwner owner;
  TestClient client;
  H2ServerSession server(owner, limits, 0);
  owner.session = &server;
  CHECK(server.start());
  client.consume_at_once = false;  // reads nothing: its window closes at 65,535 bytes
  const int32_t stalled = client.request(get("/stalled"));
  const int32_t moving = client.request(get("/moving"));
  CHECK(pump(client, server, 0));
  lb::http1::MessageHead head;
  const std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
  lb::http1::HeadLimits head_limits;
  CHECK(lb::http1::parse_response_head(text.data(), text.size(), head_limits, lb::http1::Method::get, head).status ==
        lb::http1::ParseStatus::done);
  CHECK(server.submit_response_head(stalled, head));
  const std::string body(100000, 'b');
  const size_t taken = server.send_response_body(stalled, {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  CHECK(pump(client, server, 0));  // DATA goes out at t=0 until the client's window is spent
  CHECK(client.streams[stalled].body.size() <= 65535);
  CHECK(taken > client.streams[stalled].body.size());  // the rest waits for a window that never opens
  CHECK(server.queued_response_bytes() > 0);
  CHECK_EQ(server.reset_stalled_streams(9999), size_t{0});
  CHECK_EQ(server.reset_stalled_streams(10000), size_t{1});
  CHECK(pump(client, server, 12000));
  CHECK_EQ(client.streams[stalled].error_code, uint32_t{NGHTTP2_CANCEL});
  CHECK(owner.streams[stalled].closed && !owner.streams[stalled].completed);
  CHECK_EQ(server.counters().stalled_streams_reset, uint64_t{1});
  CHECK_EQ(server.queued_response_bytes(), size_t{0});
  // A stream with nothing queued is never a stall, however long it waits.
  CHECK(!owner.streams[moving].closed);
  CHECK_EQ(server.reset_stalled_streams(100000), size_t{0});
}
