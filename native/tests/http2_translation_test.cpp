// RFC 9113 §8.2-8.3 translation of HTTP/2 request fields to an HTTP/1.1 head: each rule
// on the translator alone, then the same refusals arriving as raw frames at a session
// (what reaches the owner is either a well-formed head or nothing).
#include <string>

#include "http2/request_translator.h"
#include "tests/http2_test_support.h"
#include "tests/test_framework.h"

namespace {

using namespace lb::http2;
using namespace lb::http2_testing;

Fields base() { return {{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}}; }

// The error translating `fields` gives (none when it succeeds).
RequestError translate(const Fields& fields, bool end_stream = true, RequestHead* out = nullptr,
                       const SessionLimits& limits = {}) {
  RequestTranslator translator(limits);
  for (auto& [name, value] : fields) translator.add(name, value);
  RequestHead head;
  translator.finish(end_stream, head);
  if (out) *out = head;
  return translator.error();
}

Fields with(Fields fields, std::string name, std::string value) {
  fields.emplace_back(std::move(name), std::move(value));
  return fields;
}

}  // namespace

TEST(http2_translation_authority_becomes_host_and_cookie_crumbs_are_joined) {
  RequestHead head;
  Fields fields = with(with(with(base(), "cookie", "a=1"), "accept", "*/*"), "cookie", "b=2");
  CHECK(translate(fields, true, &head) == RequestError::none);
  CHECK_EQ(head.http1, std::string("GET / HTTP/1.1\r\nhost: a.test\r\naccept: */*\r\ncookie: a=1; b=2\r\n\r\n"));
  CHECK(!head.has_body);
  // Host alone (no :authority) is accepted; Host agreeing with :authority is folded into one.
  Fields host_only = {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "b.test"}};
  CHECK(translate(host_only, true, &head) == RequestError::none);
  CHECK_EQ(head.http1, std::string("GET / HTTP/1.1\r\nhost: b.test\r\n\r\n"));
  CHECK(translate(with(base(), "host", "A.TEST"), true, &head) == RequestError::none);
  CHECK_EQ(head.http1, std::string("GET / HTTP/1.1\r\nhost: a.test\r\n\r\n"));
}

TEST(http2_translation_empty_cookie_crumbs_add_nothing) {
  // Found by h2_translation_fuzzer: an empty crumb made a cookie count without a line.
  RequestHead head;
  CHECK(translate(with(with(with(base(), "cookie", ""), "cookie", "a=1"), "cookie", ""), true, &head) ==
        RequestError::none);
  CHECK_EQ(head.http1, std::string("GET / HTTP/1.1\r\nhost: a.test\r\ncookie: a=1\r\n\r\n"));
  CHECK(translate(with(base(), "cookie", ""), true, &head) == RequestError::none);
  CHECK_EQ(head.http1, std::string("GET / HTTP/1.1\r\nhost: a.test\r\n\r\n"));
}

TEST(http2_translation_framing_is_content_length_or_chunked) {
  RequestHead head;
  CHECK(translate(with(base(), "content-length", "12"), false, &head) == RequestError::none);
  CHECK(head.has_content_length && head.content_length == 12 && !head.chunked_body);
  CHECK(head.http1.find("content-length: 12\r\n") != std::string::npos);
  CHECK(translate(base(), false, &head) == RequestError::none);
  CHECK(head.chunked_body);
  CHECK(head.http1.find("transfer-encoding: chunked\r\n") != std::string::npos);
  CHECK(translate(with(with(base(), "content-length", "5"), "content-length", "5"), false) == RequestError::none);
  CHECK(translate(with(with(base(), "content-length", "5"), "content-length", "6"), false) ==
        RequestError::bad_content_length);
  CHECK(translate(with(base(), "content-length", "5, 5"), false) == RequestError::bad_content_length);
  CHECK(translate(with(base(), "content-length", "+5"), false) == RequestError::bad_content_length);
  CHECK(translate(with(base(), "content-length", "5"), true) == RequestError::content_length_without_body);
  CHECK(translate(with(base(), "content-length", "0"), true) == RequestError::none);
}

TEST(http2_translation_refuses_connection_specific_headers_and_te_other_than_trailers) {
  for (const char* name : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}) {
    CHECK(translate(with(base(), name, "x")) == RequestError::connection_specific_header);
  }
  CHECK(translate(with(base(), "transfer-encoding", "chunked"), false) == RequestError::connection_specific_header);
  CHECK(translate(with(base(), "te", "gzip")) == RequestError::te_not_trailers);
  CHECK(translate(with(base(), "te", "trailers, gzip")) == RequestError::te_not_trailers);
  RequestHead head;
  CHECK(translate(with(base(), "te", "trailers"), true, &head) == RequestError::none);
  CHECK(head.http1.find("te:") == std::string::npos);  // hop-by-hop: not for the backend leg
}

TEST(http2_translation_refuses_uppercase_and_invalid_names) {
  CHECK(translate(with(base(), "X-Upper", "1")) == RequestError::uppercase_name);
  CHECK(translate(with(base(), "bad name", "1")) == RequestError::bad_name);
  CHECK(translate(with(base(), "bad:name", "1")) == RequestError::bad_name);
  CHECK(translate(with(base(), "", "1")) == RequestError::bad_name);
  CHECK(translate(with(base(), std::string("nul\0x", 5), "1")) == RequestError::bad_name);
}

TEST(http2_translation_refuses_cr_lf_nul_and_edge_whitespace_in_values) {
  // The h2-to-h1 downgrade smuggling class: a CR LF would start a new header line.
  CHECK(translate(with(base(), "x-a", "1\r\ntransfer-encoding: chunked")) == RequestError::bad_value);
  CHECK(translate(with(base(), "x-a", "1\nx")) == RequestError::bad_value);
  CHECK(translate(with(base(), "x-a", "1\rx")) == RequestError::bad_value);
  CHECK(translate(with(base(), "x-a", std::string("1\0x", 3))) == RequestError::bad_value);
  CHECK(translate(with(base(), "x-a", "\x01")) == RequestError::bad_value);
  CHECK(translate(with(base(), "x-a", " lead")) == RequestError::bad_value);
  CHECK(translate(with(base(), "x-a", "trail\t")) == RequestError::bad_value);
  Fields path_crlf = base();
  path_crlf[3].second = "/a HTTP/1.1\r\nhost: evil";
  CHECK(translate(path_crlf) == RequestError::bad_value);
  Fields method_space = base();
  method_space[0].second = "GET /x";
  CHECK(translate(method_space) == RequestError::bad_method);
  Fields authority_at = base();
  authority_at[2].second = "user@a.test";
  CHECK(translate(authority_at) == RequestError::bad_authority);
  RequestHead head;
  CHECK(translate(with(base(), "x-a", "in side\ttab \x80"), true, &head) == RequestError::none);
}

TEST(http2_translation_refuses_bad_repeated_missing_and_misplaced_pseudo_headers) {
  CHECK(translate(with(base(), ":method", "POST")) == RequestError::repeated_pseudo);
  CHECK(translate(with(base(), ":path", "/b")) == RequestError::repeated_pseudo);
  CHECK(translate(with(base(), ":authority", "b.test")) == RequestError::repeated_pseudo);
  CHECK(translate(with(base(), ":status", "200")) == RequestError::unknown_pseudo);
  CHECK(translate(with(base(), ":protocol", "websocket")) == RequestError::unknown_pseudo);
  Fields late = {{":method", "GET"}, {":scheme", "https"}, {"accept", "*/*"}, {":path", "/"}, {":authority", "a"}};
  CHECK(translate(late) == RequestError::pseudo_after_regular);
  CHECK(translate({{":scheme", "https"}, {":authority", "a"}, {":path", "/"}}) == RequestError::missing_pseudo);
  CHECK(translate({{":method", "GET"}, {":authority", "a"}, {":path", "/"}}) == RequestError::missing_pseudo);
  CHECK(translate({{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}}) == RequestError::missing_pseudo);
  CHECK(translate({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}}) == RequestError::missing_pseudo);
  Fields scheme = base();
  scheme[1].second = "ftp";
  CHECK(translate(scheme) == RequestError::bad_scheme);
  Fields absolute = base();
  absolute[3].second = "http://a.test/";
  CHECK(translate(absolute) == RequestError::bad_path);
  Fields star = base();
  star[3].second = "*";
  CHECK(translate(star) == RequestError::bad_path);
  star[0].second = "OPTIONS";
  CHECK(translate(star) == RequestError::none);
  CHECK(translate(with(base(), "host", "other.test")) == RequestError::host_differs_from_authority);
  CHECK(translate(with(with(base(), "host", "a.test"), "host", "a.test")) == RequestError::bad_authority);
  Fields connect = {{":method", "CONNECT"}, {":authority", "a.test:443"}};
  CHECK(translate(connect) == RequestError::connect_not_supported);
  CHECK_EQ(status_for(RequestError::connect_not_supported), uint16_t{501});
}

TEST(http2_translation_header_list_limits_answer_431) {
  SessionLimits limits;
  limits.max_header_list_bytes = 1000;
  limits.max_header_fields = 10;
  CHECK(translate(with(base(), "x-big", std::string(1000, 'b')), true, nullptr, limits) ==
        RequestError::header_list_too_large);
  Fields many = base();
  for (int i = 0; i < 7; ++i) many.emplace_back("x-" + std::to_string(i), "1");
  CHECK(translate(many, true, nullptr, limits) == RequestError::too_many_fields);
  CHECK_EQ(status_for(RequestError::header_list_too_large), uint16_t{431});
  CHECK_EQ(status_for(RequestError::too_many_fields), uint16_t{431});
}

// The same refusals at the session, from raw frames (nghttp2 and our translator together):
// the stream is reset or answered, the owner never hears of it, the connection lives on.
TEST(http2_translation_session_resets_malformed_requests_and_serves_the_next) {
  const std::vector<Fields> malformed = {
      with(base(), "X-Upper", "1"),
      with(base(), "x-a", "1\r\nx-b: 2"),
      with(base(), "connection", "close"),
      with(base(), "te", "gzip"),
      with(base(), ":method", "POST"),
      {{":scheme", "https"}, {":authority", "a"}, {":path", "/"}},
      {{":method", "GET"}, {":scheme", "https"}, {"accept", "*/*"}, {":path", "/"}, {":authority", "a"}},
      with(base(), "host", "b.test"),
      with(base(), "x-a", std::string("\0", 1)),
  };
  SessionLimits limits;
  RecordingOwner owner;
  H2ServerSession server(owner, limits, 0);
  owner.session = &server;
  CHECK(server.start());
  std::string bytes = preface() + settings_frame();
  uint32_t id = 1;
  for (const Fields& fields : malformed) {
    bytes += frame(0x1, 0x5, id, literal_block(fields));  // END_STREAM | END_HEADERS
    id += 2;
  }
  bytes += frame(0x1, 0x5, id, literal_block(base()));
  CHECK(server.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, 0) == FeedResult::ok);
  const std::vector<SeenFrame> out = parse_frames(drain(server));
  size_t resets = 0;
  for (const SeenFrame& f : out) {
    if (f.type == 0x3) {
      ++resets;
      CHECK_EQ(static_cast<uint8_t>(f.payload[3]), uint8_t{NGHTTP2_PROTOCOL_ERROR});
    }
  }
  CHECK_EQ(resets, malformed.size());
  CHECK_EQ(server.counters().malformed_requests, uint64_t{malformed.size()});
  CHECK_EQ(owner.streams.size(), size_t{1});  // only the good one reached the owner
  CHECK_EQ(owner.streams[static_cast<int32_t>(id)].head, std::string("GET / HTTP/1.1\r\nhost: a.test\r\n\r\n"));
  CHECK_EQ(goaway_error(out), int64_t{-1});
}

TEST(http2_translation_session_answers_431_for_an_oversized_header_list) {
  SessionLimits limits;
  limits.max_header_list_bytes = 2000;
  RecordingOwner owner;
  H2ServerSession server(owner, limits, 0);
  CHECK(server.start());
  const std::string bytes =
      preface() + settings_frame() + frame(0x1, 0x5, 1, literal_block(with(base(), "x-big", std::string(3000, 'b'))));
  CHECK(server.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, 0) == FeedResult::ok);
  const std::vector<SeenFrame> out = parse_frames(drain(server));
  bool answered = false;
  HeaderDecoder decoder;
  for (const SeenFrame& f : out) {
    if (f.type != 0x1) continue;
    const Fields fields = decoder.decode(f.payload);
    if (f.stream_id == 1 && !fields.empty() && fields[0] == std::pair<std::string, std::string>(":status", "431")) {
      answered = (f.flags & 0x1) != 0;  // and it ends the stream
    }
  }
  CHECK(answered);
  CHECK_EQ(server.counters().header_list_too_large, uint64_t{1});
  CHECK(owner.streams.empty());
}
