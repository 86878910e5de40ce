// H2ServerSession against a real nghttp2 client in the same process: requests become
// HTTP/1.1 heads, bodies and trailers travel both ways, flow control keeps memory bounded
// with a slow consumer, and GOAWAY stops a connection gracefully.
#include <unistd.h>

#include <cstring>
#include <string>

#include "http1/parser.h"
#include "http2/h2_server_session.h"
#include "http2/memory_budget.h"
#include "tests/http2_test_support.h"
#include "tests/test_framework.h"

namespace {

using namespace lb::http2;
using namespace lb::http2_testing;

// A response head as the backend leg would parse it.
struct BackendResponse {
  std::string text;
  lb::http1::MessageHead head;
  bool parse(lb::http1::Method method = lb::http1::Method::get) {
    lb::http1::HeadLimits limits;
    return lb::http1::parse_response_head(text.data(), text.size(), limits, method, head).status ==
           lb::http1::ParseStatus::done;
  }
};

struct Fixture {
  SessionLimits limits;
  RecordingOwner owner;
  TestClient client;
  std::unique_ptr<H2ServerSession> server;

  explicit Fixture(SessionLimits l = {}) : limits(l) {
    server = std::make_unique<H2ServerSession>(owner, limits, 0);
    owner.session = server.get();
    CHECK(server->start());
  }

  bool respond(int32_t id, std::string head_text, std::string body = {}, bool end = true,
               lb::http1::Method method = lb::http1::Method::get) {
    BackendResponse response{std::move(head_text), {}};
    if (!response.parse(method)) return false;
    if (!server->submit_response_head(id, response.head)) return false;
    if (!body.empty()) {
      server->send_response_body(id, {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
    }
    return !end || server->end_response(id);
  }
};

std::string header_value(const Fields& fields, std::string_view name) {
  for (auto& [n, v] : fields) {
    if (n == name) return v;
  }
  return "<none>";
}

}  // namespace

TEST(http2_session_get_becomes_an_http1_head_and_its_response_returns) {
  Fixture f;
  Fields request = get("/search?q=1");
  request.push_back({"accept", "text/html"});
  request.push_back({"cookie", "a=1"});
  request.push_back({"cookie", "b=2"});
  const int32_t id = f.client.request(request);
  CHECK(pump(f.client, *f.server));
  CHECK_EQ(f.owner.streams[id].head,
           std::string("GET /search?q=1 HTTP/1.1\r\nhost: example.test\r\naccept: text/html\r\ncookie: a=1; "
                       "b=2\r\n\r\n"));
  CHECK(f.owner.streams[id].ended);
  CHECK(f.respond(id,
                  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                  "X-Backend: b1\r\n\r\n",
                  "hello"));
  CHECK(pump(f.client, *f.server));
  ClientStream& seen = f.client.streams[id];
  CHECK_EQ(seen.status, 200);
  CHECK_EQ(seen.body, std::string("hello"));
  CHECK_EQ(header_value(seen.headers, "x-backend"), std::string("b1"));
  CHECK_EQ(header_value(seen.headers, "content-length"), std::string("5"));
  CHECK_EQ(header_value(seen.headers, "connection"), std::string("<none>"));
  CHECK_EQ(header_value(seen.headers, "keep-alive"), std::string("<none>"));
  CHECK(seen.closed);
  CHECK(f.owner.streams[id].closed);
  CHECK(f.owner.streams[id].completed);
  CHECK_EQ(f.server->open_streams(), size_t{0});
}

TEST(http2_session_upload_with_trailers_is_chunked_and_trailers_both_ways) {
  Fixture f;
  Fields request = {
      {":method", "POST"}, {":scheme", "https"}, {":authority", "example.test"}, {":path", "/up"}, {"te", "trailers"}};
  const int32_t id = f.client.request(request, std::string(100000, 'u'), {{"x-checksum", "abc"}});
  CHECK(pump(f.client, *f.server));
  OwnerStream& s = f.owner.streams[id];
  CHECK_EQ(s.head, std::string("POST /up HTTP/1.1\r\nhost: example.test\r\ntransfer-encoding: chunked\r\n\r\n"));
  CHECK(s.request.chunked_body);
  CHECK_EQ(s.body.size(), size_t{100000});
  CHECK(s.ended);
  CHECK_EQ(s.trailers, std::string("x-checksum: abc\r\n"));

  BackendResponse response{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status\r\n\r\n", {}};
  CHECK(response.parse());
  CHECK(f.server->submit_response_head(id, response.head));
  const std::string body = "partial";
  CHECK_EQ(f.server->send_response_body(id, {reinterpret_cast<const uint8_t*>(body.data()), body.size()}), body.size());
  lb::http1::HeaderField trailers[] = {{"Grpc-Status", "0", false}, {"Connection", "close", false}};
  CHECK(f.server->end_response(id, trailers));
  CHECK(pump(f.client, *f.server));
  ClientStream& seen = f.client.streams[id];
  CHECK_EQ(seen.body, body);
  CHECK_EQ(header_value(seen.headers, "transfer-encoding"), std::string("<none>"));
  CHECK_EQ(header_value(seen.headers, "trailer"), std::string("<none>"));
  CHECK_EQ(seen.trailers.size(), size_t{1});
  CHECK_EQ(header_value(seen.trailers, "grpc-status"), std::string("0"));
  CHECK(f.owner.streams[id].completed);
}

TEST(http2_session_content_length_upload_keeps_its_length) {
  Fixture f;
  Fields request = {{":method", "PUT"},
                    {":scheme", "https"},
                    {":authority", "example.test"},
                    {":path", "/x"},
                    {"content-length", "4"}};
  const int32_t id = f.client.request(request, "abcd");
  CHECK(pump(f.client, *f.server));
  CHECK_EQ(f.owner.streams[id].head, std::string("PUT /x HTTP/1.1\r\nhost: example.test\r\ncontent-length: 4\r\n\r\n"));
  CHECK_EQ(f.owner.streams[id].body, std::string("abcd"));
  CHECK(f.owner.streams[id].ended);
}

TEST(http2_session_content_length_disagreeing_with_data_resets_the_stream) {
  for (const char* length : {"3", "10"}) {
    Fixture f;
    Fields request = {{":method", "POST"},
                      {":scheme", "https"},
                      {":authority", "example.test"},
                      {":path", "/x"},
                      {"content-length", length}};
    const int32_t id = f.client.request(request, "abcde");
    pump(f.client, *f.server);
    CHECK(f.client.streams[id].closed);
    CHECK_EQ(f.client.streams[id].error_code, uint32_t{NGHTTP2_PROTOCOL_ERROR});
    CHECK(!f.owner.streams[id].ended);  // the backend never sees a complete request
    CHECK_EQ(f.server->counters().malformed_requests, uint64_t{1});
  }
}

TEST(http2_session_informational_responses_are_relayed_and_bodiless_ones_end_at_headers) {
  Fixture f;
  Fields post = {{":method", "POST"},
                 {":scheme", "https"},
                 {":authority", "example.test"},
                 {":path", "/"},
                 {"expect", "100-continue"}};
  const int32_t continued = f.client.request(post, "body");
  Fields head_request = get("/");
  head_request[0].second = "HEAD";
  const int32_t head_id = f.client.request(head_request);
  const int32_t no_content = f.client.request(get("/204"));
  const int32_t not_modified = f.client.request(get("/304"));
  CHECK(pump(f.client, *f.server));
  CHECK(f.owner.streams[continued].head.find("expect: 100-continue\r\n") != std::string::npos);

  CHECK(f.respond(continued, "HTTP/1.1 100 Continue\r\n\r\n", {}, false));
  CHECK(f.respond(continued, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", {}, false));
  CHECK(f.respond(continued, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n", "ok"));
  CHECK(f.respond(head_id, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", {}, true, lb::http1::Method::head));
  CHECK(f.respond(no_content, "HTTP/1.1 204 No Content\r\n\r\n"));
  CHECK(f.respond(not_modified, "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"));
  // A backend that sends a body anyway: dropped, not framed onto the stream.
  const std::string stray = "stray";
  CHECK_EQ(f.server->send_response_body(head_id, {reinterpret_cast<const uint8_t*>(stray.data()), stray.size()}),
           stray.size());
  CHECK(pump(f.client, *f.server));

  CHECK_EQ(f.client.streams[continued].informational.size(), size_t{2});
  CHECK_EQ(f.client.streams[continued].informational[0], 100);
  CHECK_EQ(f.client.streams[continued].informational[1], 103);
  CHECK_EQ(f.client.streams[continued].status, 201);
  CHECK_EQ(f.client.streams[continued].body, std::string("ok"));
  CHECK_EQ(f.client.streams[head_id].status, 200);
  CHECK_EQ(f.client.streams[head_id].body, std::string());
  CHECK_EQ(header_value(f.client.streams[head_id].headers, "content-length"), std::string("1234"));
  CHECK(f.client.streams[head_id].closed);
  CHECK_EQ(f.client.streams[no_content].status, 204);
  CHECK(f.client.streams[no_content].closed);
  CHECK_EQ(f.client.streams[not_modified].status, 304);
  CHECK_EQ(header_value(f.client.streams[not_modified].headers, "etag"), std::string("\"v1\""));
  for (int32_t id : {continued, head_id, no_content, not_modified}) CHECK(f.owner.streams[id].completed);
}

TEST(http2_session_refuses_to_relay_101) {
  Fixture f;
  const int32_t id = f.client.request(get("/ws"));
  CHECK(pump(f.client, *f.server));
  BackendResponse response{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", {}};
  CHECK(response.parse());
  CHECK(!f.server->submit_response_head(id, response.head));
}

TEST(http2_session_slow_consumer_holds_at_most_one_stream_window_and_others_proceed) {
  SessionLimits limits;
  limits.stream_window = 16384;
  Fixture f(limits);
  // Before our SETTINGS arrive a client may send the RFC's default window (65,535 bytes);
  // the bound below holds from then on.
  CHECK(pump(f.client, *f.server));
  Fields post = {{":method", "POST"}, {":scheme", "https"}, {":authority", "example.test"}, {":path", "/slow"}};
  const int32_t slow = f.client.request(post, std::string(200000, 's'));
  f.owner.held.insert(slow);
  CHECK(pump(f.client, *f.server));
  // The client stops at the stream window: the owner holds no more than that.
  CHECK_EQ(f.owner.streams[slow].body.size(), size_t{16384});
  CHECK(f.owner.max_unconsumed <= 16384);
  CHECK(!f.owner.streams[slow].ended);

  // Another stream on the same connection is not held back by the stalled one.
  post[3].second = "/fast";
  const int32_t fast = f.client.request(post, std::string(100000, 'f'));
  CHECK(pump(f.client, *f.server));
  CHECK_EQ(f.owner.streams[fast].body.size(), size_t{100000});
  CHECK(f.owner.streams[fast].ended);

  // The slow one advances as its owner consumes, a window at a time.
  size_t rounds = 0;
  while (!f.owner.streams[slow].ended && rounds++ < 100) {
    const size_t before = f.owner.streams[slow].body.size();
    f.owner.consume(slow, 16384);
    CHECK(pump(f.client, *f.server));
    CHECK(f.owner.streams[slow].body.size() - before <= 16384);
  }
  CHECK(f.owner.streams[slow].ended);
  CHECK_EQ(f.owner.streams[slow].body.size(), size_t{200000});
}

TEST(http2_session_response_backpressure_bounds_the_queue_and_says_when_to_resume) {
  SessionLimits limits;
  limits.max_queued_response_bytes = 32768;
  Fixture f(limits);
  f.client.consume_at_once = false;  // the client reads nothing: its window closes at 65535
  const int32_t id = f.client.request(get("/big"));
  CHECK(pump(f.client, *f.server));
  BackendResponse response{"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n", {}};
  CHECK(response.parse());
  CHECK(f.server->submit_response_head(id, response.head));
  const std::string chunk(16384, 'd');
  size_t offered = 0;
  size_t accepted = 0;
  while (accepted < 300000) {
    const size_t n = f.server->send_response_body(id, {reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()});
    offered += chunk.size();
    accepted += n;
    CHECK(f.server->queued_response_bytes() <= 32768);
    if (n < chunk.size()) {
      const int before = f.owner.streams[id].writable_calls;
      pump(f.client, *f.server);
      if (f.owner.streams[id].writable_calls == before) break;  // stalled on the client's window
    }
  }
  CHECK(accepted < 300000);
  CHECK(f.server->queued_response_bytes() <= 32768);
  CHECK(f.client.streams[id].body.size() <= 65535);
  // The client reads: the owner is told to resume, and the whole body arrives.
  f.client.consume_at_once = true;
  nghttp2_session_consume(f.client.session(), id, f.client.streams[id].body.size());
  for (int round = 0; round < 200 && accepted < 300000; ++round) {
    pump(f.client, *f.server);
    const size_t want = std::min<size_t>(chunk.size(), 300000 - accepted);
    accepted += f.server->send_response_body(id, {reinterpret_cast<const uint8_t*>(chunk.data()), want});
  }
  CHECK(f.owner.streams[id].writable_calls > 0);
  CHECK(f.server->end_response(id));
  CHECK(pump(f.client, *f.server));
  CHECK_EQ(f.client.streams[id].body.size(), size_t{300000});
  CHECK(f.owner.streams[id].completed);
}

TEST(http2_session_graceful_stop_sends_goaway_with_the_last_stream_and_lets_it_finish) {
  Fixture f;
  const int32_t first = f.client.request(get("/1"));
  const int32_t second = f.client.request(get("/2"));
  CHECK(pump(f.client, *f.server));
  f.server->stop_gracefully();
  CHECK(pump(f.client, *f.server));
  CHECK(f.client.goaway_received);
  CHECK_EQ(f.client.goaway_last_stream_id, second);
  CHECK_EQ(f.client.goaway_error_code, uint32_t{NGHTTP2_NO_ERROR});
  CHECK(!f.server->finished());  // two streams still in flight
  CHECK(f.respond(first, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", "1"));
  CHECK(f.respond(second, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", "2"));
  pump(f.client, *f.server);
  CHECK_EQ(f.client.streams[first].body, std::string("1"));
  CHECK_EQ(f.client.streams[second].body, std::string("2"));
  CHECK(f.owner.streams[first].completed);
  CHECK(f.owner.streams[second].completed);
  CHECK(f.server->finished());
}

TEST(http2_session_client_reset_closes_the_stream_for_its_owner) {
  Fixture f;
  const int32_t id = f.client.request(get("/long"));
  CHECK(pump(f.client, *f.server));
  nghttp2_submit_rst_stream(f.client.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  CHECK(pump(f.client, *f.server));
  CHECK(f.owner.streams[id].closed);
  CHECK(!f.owner.streams[id].completed);
  CHECK_EQ(f.owner.streams[id].error_code, uint32_t{NGHTTP2_CANCEL});
  CHECK_EQ(f.server->counters().streams_reset_by_client, uint64_t{1});
  // The owner's late answer for it is refused, not queued.
  CHECK(!f.respond(id, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", "x"));
}

TEST(http2_session_library_memory_of_an_idle_connection_is_measured_and_bounded) {
  Fixture f;
  const size_t after_start = f.server->library_bytes();
  const int32_t id = f.client.request(get("/"));
  CHECK(pump(f.client, *f.server));
  CHECK(f.respond(id, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n", "ok"));
  CHECK(pump(f.client, *f.server));
  CHECK(f.owner.streams[id].completed);
  const size_t idle = f.server->library_bytes();
  std::fprintf(stderr, "  nghttp2 bytes: %zu after start, %zu idle after one exchange, peak %zu\n", after_start, idle,
               f.server->library_peak_bytes());
  // 1.52 measured 25,992 bytes: nghttp2's 16 KiB outbound frame buffer, the session and
  // both HPACK contexts. The bound catches a change that makes idle connections dearer.
  CHECK(idle < 32 * 1024);
}

TEST(http2_session_idle_connection_hands_its_frame_buffer_pages_back_once_per_idle_spell) {
  Fixture f;
  const int32_t id = f.client.request(get("/"));
  CHECK(pump(f.client, *f.server));
  // A stream is open: nothing is handed back.
  CHECK_EQ(f.server->release_idle_memory(), size_t{0});
  CHECK(f.respond(id, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "ok"));
  CHECK(pump(f.client, *f.server));
  CHECK(f.owner.streams[id].completed);
  // Idle: the 16 KiB frame buffer's whole pages go back, and only once until the next output.
  CHECK(f.server->release_idle_memory() >= 16 * 1024);
  CHECK_EQ(f.server->release_idle_memory(), size_t{0});
  // The buffer serves the next exchange (its pages come back zeroed) and is handed back again.
  const int32_t second = f.client.request(get("/again"));
  CHECK(pump(f.client, *f.server));
  CHECK(f.respond(second, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "again"));
  // Output queued and not yet written: the buffer is in use.
  CHECK_EQ(f.server->release_idle_memory(), size_t{0});
  CHECK(pump(f.client, *f.server));
  CHECK(f.owner.streams[second].completed);
  CHECK_EQ(f.client.streams[second].body, std::string("again"));
  CHECK(f.server->release_idle_memory() >= 16 * 1024);
}

TEST(http2_memory_budget_only_the_frame_buffer_block_is_discarded_and_realloc_keeps_bytes) {
  MemoryBudget budget(1 << 20);
  nghttp2_mem* mem = budget.allocator();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  constexpr size_t kFrameBuffer = 9 + 1 + 16384;  // nghttp2's outbound frame buffer chunk
  auto* small = static_cast<char*>(mem->malloc(100, mem->mem_user_data));
  CHECK(small != nullptr);
  std::memset(small, 'a', 100);
  // Growing to the frame buffer's size moves it into a page-aligned block, bytes kept.
  auto* frame = static_cast<char*>(mem->realloc(small, kFrameBuffer, mem->mem_user_data));
  CHECK(frame != nullptr);
  CHECK_EQ(reinterpret_cast<uintptr_t>(frame) % page, uintptr_t{0});
  CHECK(frame[0] == 'a' && frame[99] == 'a');
  std::memset(frame, 'b', kFrameBuffer);
  // Any other large block (a grown stream map, say) keeps its contents: never discarded.
  auto* other = static_cast<char*>(mem->malloc(40000, mem->mem_user_data));
  CHECK(other != nullptr);
  std::memset(other, 'c', 40000);
  CHECK(budget.in_use() >= 40000 + kFrameBuffer && budget.in_use() < 40000 + kFrameBuffer + 64);
  CHECK_EQ(budget.discard_large_blocks(), kFrameBuffer / page * page);  // the whole pages of the frame buffer
  CHECK(frame[0] == 0);                                                 // discarded pages read as zeros
  CHECK(other[0] == 'c' && other[39999] == 'c');
  auto* shrunk = static_cast<char*>(mem->realloc(frame, 50, mem->mem_user_data));
  CHECK(shrunk != nullptr);
  mem->free(shrunk, mem->mem_user_data);
  mem->free(other, mem->mem_user_data);
  CHECK_EQ(budget.in_use(), size_t{0});
  CHECK_EQ(budget.discard_large_blocks(), size_t{0});
}

TEST(http2_session_complete_response_before_the_request_ends_closes_the_stream_without_error) {
  // RFC 9113 §8.1: an upload answered early (413 here) is ended with RST_STREAM NO_ERROR
  // once the response is out, so the stream stops holding a concurrent-stream slot.
  Fixture f;
  Fields request = {{":method", "POST"}, {":scheme", "https"}, {":authority", "example.test"}, {":path", "/up"}};
  const int32_t id = f.client.request(request, std::string(200000, 'u'));
  f.owner.held.insert(id);  // the backend reads nothing: the client's body stays blocked
  CHECK(pump(f.client, *f.server));
  CHECK(!f.owner.streams[id].head.empty());
  CHECK(!f.client.streams[id].closed);
  CHECK(f.respond(id, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\n", "nope"));
  CHECK(pump(f.client, *f.server));
  CHECK_EQ(f.client.streams[id].status, 413);
  CHECK_EQ(f.client.streams[id].body, std::string("nope"));
  CHECK(f.client.streams[id].closed);
  CHECK_EQ(f.client.streams[id].error_code, uint32_t{NGHTTP2_NO_ERROR});
  CHECK(f.owner.streams[id].closed);
  CHECK(f.owner.streams[id].completed);
  CHECK_EQ(f.server->open_streams(), size_t{0});
  CHECK_EQ(f.server->counters().streams_reset_by_client, uint64_t{0});
}
