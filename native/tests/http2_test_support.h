// Shared pieces of the HTTP/2 tests: a real nghttp2 client session, an owner that records
// what an H2ServerSession surfaces, a loop that moves bytes between the two in memory, and
// a raw frame writer (with a literal-only HPACK encoder) for what no well-behaved client
// sends.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "http2/h2_server_session.h"
#include "http2/nghttp2_ptr.h"

namespace lb::http2_testing {

using Fields = std::vector<std::pair<std::string, std::string>>;

// What the owner saw of one stream.
struct OwnerStream {
  std::string head;  // the HTTP/1.1 request head
  http2::RequestHead request;
  std::string body;
  bool ended = false;
  std::string trailers;
  bool closed = false;
  bool completed = false;
  uint32_t error_code = 0;
  int writable_calls = 0;
};

class RecordingOwner : public http2::SessionOwner {
 public:
  // consume_at_once: hand the body credit back as soon as bytes arrive (a fast backend).
  bool consume_at_once = true;
  std::set<int32_t> held;  // streams never consumed at once (a slow backend)
  http2::H2ServerSession* session = nullptr;
  std::map<int32_t, OwnerStream> streams;
  size_t unconsumed = 0;      // body bytes received and not yet consumed
  size_t max_unconsumed = 0;  // the most ever held

  void on_request_head(int32_t id, const http2::RequestHead& head) override;
  void on_request_data(int32_t id, std::span<const uint8_t> bytes) override;
  void on_request_end(int32_t id, std::string_view trailers) override;
  void on_stream_closed(int32_t id, bool completed, uint32_t error_code) override;
  void on_response_writable(int32_t id) override;

  // Consumes up to `bytes` of what is held (spread over streams in id order).
  void consume(int32_t id, size_t bytes);
};

// What the client saw of one stream.
struct ClientStream {
  std::vector<int> informational;  // 1xx statuses
  int status = 0;
  Fields headers;
  std::string body;
  Fields trailers;
  bool closed = false;
  uint32_t error_code = 0;
};

class TestClient {
 public:
  TestClient();
  // Submits a request; `body` sent as DATA (none when empty and !force_body), then
  // `trailers` if any. Returns the stream id.
  int32_t request(const Fields& fields, std::string body = {}, const Fields& trailers = {});
  nghttp2_session* session() { return session_.get(); }

  std::map<int32_t, ClientStream> streams;
  bool goaway_received = false;
  int32_t goaway_last_stream_id = -1;
  uint32_t goaway_error_code = 0;
  bool consume_at_once = true;  // the client reads every response byte at once

  struct Upload {
    std::string body;
    size_t offset = 0;
    Fields trailers;
  };
  std::map<int32_t, Upload> uploads;

 private:
  http2::SessionPtr session_;
};

// The usual request fields (GET https://example.test/path).
Fields get(std::string path = "/");

// Moves bytes both ways until neither side has anything to say. Returns false if the
// server ended the exchange (closing / not_http2).
bool pump(TestClient& client, http2::H2ServerSession& server, uint64_t now_ms = 0);
// Writes everything the server has queued into `out` (as a client would read it).
std::string drain(http2::H2ServerSession& server);

// Raw frames.
std::string preface();
std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload);
std::string settings_frame(const std::vector<std::pair<uint16_t, uint32_t>>& entries = {});
// A header block with every field as a literal without indexing (no Huffman), the
// encoding a test can write by hand.
std::string literal_block(const Fields& fields);

// The frame types a raw test needs to read back from the server's output.
struct SeenFrame {
  uint8_t type;
  uint8_t flags;
  uint32_t stream_id;
  std::string payload;
};
std::vector<SeenFrame> parse_frames(std::string_view bytes);
// Decodes the server's header blocks in order (HPACK state carries from one to the next).
class HeaderDecoder {
 public:
  HeaderDecoder();
  ~HeaderDecoder();
  HeaderDecoder(const HeaderDecoder&) = delete;
  HeaderDecoder& operator=(const HeaderDecoder&) = delete;
  Fields decode(std::string_view block);

 private:
  nghttp2_hd_inflater* inflater_ = nullptr;
};

// The GOAWAY error code in `frames`, or -1 when there is none.
int64_t goaway_error(const std::vector<SeenFrame>& frames);

}  // namespace lb::http2_testing
