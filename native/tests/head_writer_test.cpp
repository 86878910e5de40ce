#include <cstring>
#include <string>

#include "buffer/byte_buffer.h"
#include "http1/canned_response.h"
#include "http1/head_writer.h"
#include "http1/parser.h"
#include "tests/test_framework.h"

using namespace lb::http1;

namespace {
using Mode = ForwardedPolicy::Mode;

std::string write_request(const std::string& raw, Mode mode, const char* ip, bool trust = false, bool upgrade = false) {
  static MessageHead head;
  auto result = parse_request_head(raw.data(), raw.size(), HeadLimits{}, head);
  if (result.status != ParseStatus::done) return "PARSE ERROR";
  lb::buffer::BufferPool pool;
  lb::buffer::ByteBuffer out;
  out.attach_pool(&pool);
  RequestHeadOptions options;
  options.forwarded.mode = mode;
  options.forwarded.trust_incoming = trust;
  options.client_ip = ip;
  options.upgrade = upgrade;
  if (!write_request_head(head, options, out)) return "TOO LARGE";
  return std::string(out.view());
}
std::string write_response(const std::string& raw, Method method, ResponseHeadOptions options) {
  static MessageHead head;
  auto result = parse_response_head(raw.data(), raw.size(), HeadLimits{}, method, head);
  if (result.status != ParseStatus::done) return "PARSE ERROR";
  lb::buffer::BufferPool pool;
  lb::buffer::ByteBuffer out;
  out.attach_pool(&pool);
  if (!write_response_head(head, options, out)) return "TOO LARGE";
  return std::string(out.view());
}
}  // namespace

TEST(request_head_drops_hop_by_hop_and_reframes) {
  std::string out = write_request(
      "POST /a?b=1 HTTP/1.1\r\nHost: x\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\n"
      "Keep-Alive: timeout=5\r\nTE: trailers\r\nContent-Length: 5\r\nAccept: */*\r\n\r\n",
      Mode::none, "");
  CHECK_EQ(out, std::string("POST /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nContent-Length: 5\r\n\r\n"));
}

TEST(request_head_x_forwarded_trusted_appends) {
  std::string out =
      write_request("GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n",
                    Mode::x_forwarded, "127.0.0.1", true);
  CHECK_EQ(out, std::string("GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n"
                            "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nX-Forwarded-Host: x\r\n\r\n"));
}

TEST(request_head_x_forwarded_untrusted_strips_client_values) {
  std::string out = write_request(
      "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n"
      "X-Forwarded-Host: evil\r\n\r\n",
      Mode::x_forwarded, "::1");
  CHECK_EQ(out, std::string("GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ::1\r\n"
                            "X-Forwarded-Proto: http\r\nX-Forwarded-Host: x\r\n\r\n"));
}

TEST(request_head_rfc7239_forwarded) {
  std::string out = write_request("GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", Mode::forwarded, "::1");
  CHECK_EQ(out, std::string("GET / HTTP/1.1\r\nHost: a.example:8080\r\n"
                            "Forwarded: for=\"[::1]\";host=\"a.example:8080\";proto=http\r\n\r\n"));
  out =
      write_request("GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=10.0.0.1\r\n\r\n", Mode::forwarded, "127.0.0.1", true);
  CHECK_EQ(out, std::string("GET / HTTP/1.1\r\nHost: h\r\n"
                            "Forwarded: for=10.0.0.1, for=127.0.0.1;host=\"h\";proto=http\r\n\r\n"));
}

TEST(request_head_absolute_form_becomes_origin_form) {
  std::string out = write_request("GET http://origin.example:81/p/q?x=%41 HTTP/1.1\r\nHost: origin.example:81\r\n\r\n",
                                  Mode::none, "");
  CHECK_EQ(out, std::string("GET /p/q?x=%41 HTTP/1.1\r\nHost: origin.example:81\r\n\r\n"));
  out = write_request("GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n", Mode::none, "");
  CHECK_EQ(out, std::string("GET /?q HTTP/1.1\r\nHost: h\r\n\r\n"));
}

TEST(request_head_upgrade_is_forwarded_only_when_upgrading) {
  std::string raw = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  CHECK_EQ(write_request(raw, Mode::none, "", false, true),
           std::string("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"));
  CHECK_EQ(write_request(raw, Mode::none, "", false, false), std::string("GET /ws HTTP/1.1\r\nHost: h\r\n\r\n"));
}

TEST(request_head_http10_asks_backend_to_keep_alive) {
  std::string out = write_request("GET / HTTP/1.0\r\n\r\n", Mode::none, "");
  CHECK_EQ(out, std::string("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
}

TEST(request_head_chunked_is_reframed_once) {
  std::string out = write_request("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", Mode::none, "");
  CHECK_EQ(out, std::string("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
}

TEST(response_head_close_and_keep_alive_markers) {
  ResponseHeadOptions close_options;
  close_options.close_client = true;
  std::string out = write_response(
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nServer: s\r\n\r\n",
      Method::get, close_options);
  CHECK_EQ(out, std::string("HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"));
  ResponseHeadOptions ka10;
  ka10.client_keep_alive_10 = true;
  out = write_response("HTTP/1.1 204 No Content\r\n\r\n", Method::get, ka10);
  CHECK_EQ(out, std::string("HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"));
}

TEST(response_head_keeps_content_length_of_head_response) {
  std::string out = write_response("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", Method::head, {});
  CHECK_EQ(out, std::string("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"));
}

TEST(canned_responses_are_well_framed) {
  const uint16_t statuses[] = {400, 405, 408, 413, 414, 431, 501, 502, 503, 504, 505, 500};
  for (uint16_t status : statuses) {
    std::string_view bytes = canned_response(status);
    static MessageHead head;
    auto result = parse_response_head(bytes.data(), bytes.size(), HeadLimits{}, Method::get, head);
    CHECK(result.status == ParseStatus::done);
    CHECK_EQ(head.status, status);
    CHECK(head.body == BodyKind::content_length);
    CHECK_EQ(head.content_length, uint64_t{bytes.size() - result.consumed});
    CHECK(head.connection_close);
  }
}

namespace {
std::string write_with_policy(const std::string& raw, Mode mode, bool trust, HeaderPolicy::Underscores underscores) {
  static MessageHead head;
  auto result = parse_request_head(raw.data(), raw.size(), HeadLimits{}, head);
  if (result.status != ParseStatus::done) return "PARSE ERROR";
  lb::buffer::BufferPool pool;
  lb::buffer::ByteBuffer out;
  out.attach_pool(&pool);
  RequestHeadOptions options;
  options.forwarded.mode = mode;
  options.forwarded.trust_incoming = trust;
  options.headers.underscores = underscores;
  options.client_ip = "127.0.0.1";
  if (!write_request_head(head, options, out)) return "TOO LARGE";
  return std::string(out.view());
}
const char kLookAlikes[] =
    "X_Forwarded_For: 6.6.6.6\r\nx-forwarded_for: 6.6.6.7\r\nX_FORWARDED_PROTO: https\r\n"
    "X_Forwarded_Port: 1\r\nx_real_ip: 6.6.6.8\r\nX-Real-IP: 6.6.6.9\r\n";
}  // namespace

TEST(request_head_underscore_names_dropped_by_default) {
  using U = HeaderPolicy::Underscores;
  HeaderPolicy defaults;
  CHECK(defaults.underscores == U::drop);
  std::string raw = std::string("GET / HTTP/1.1\r\nHost: x\r\n") + kLookAlikes + "My_Header: a\r\nMy-Header: b\r\n\r\n";
  CHECK_EQ(write_with_policy(raw, Mode::x_forwarded, false, U::drop),
           std::string("GET / HTTP/1.1\r\nHost: x\r\nMy-Header: b\r\nX-Forwarded-For: 127.0.0.1\r\n"
                       "X-Forwarded-Proto: http\r\nX-Forwarded-Host: x\r\n\r\n"));
  // Mode none: nothing identity-related is touched, but the underscore rule still holds.
  CHECK_EQ(write_with_policy(raw, Mode::none, false, U::drop),
           std::string("GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 6.6.6.9\r\nMy-Header: b\r\n\r\n"));
}

TEST(request_head_underscore_keep_still_drops_identity_look_alikes) {
  using U = HeaderPolicy::Underscores;
  std::string raw = std::string("GET / HTTP/1.1\r\nHost: x\r\n") + kLookAlikes + "My_Header: a\r\n\r\n";
  CHECK_EQ(write_with_policy(raw, Mode::x_forwarded, false, U::keep),
           std::string("GET / HTTP/1.1\r\nHost: x\r\nMy_Header: a\r\nX-Forwarded-For: 127.0.0.1\r\n"
                       "X-Forwarded-Proto: http\r\nX-Forwarded-Host: x\r\n\r\n"));
  // Trusted: the dashed X-Real-IP passes, the look-alikes never do.
  CHECK_EQ(write_with_policy(raw, Mode::x_forwarded, true, U::keep),
           std::string("GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 6.6.6.9\r\nMy_Header: a\r\n"
                       "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: x\r\n\r\n"));
  CHECK_EQ(write_with_policy(raw, Mode::forwarded, false, U::keep),
           std::string("GET / HTTP/1.1\r\nHost: x\r\nMy_Header: a\r\n"
                       "Forwarded: for=127.0.0.1;host=\"x\";proto=http\r\n\r\n"));
}

TEST(request_head_underscore_reject) {
  using U = HeaderPolicy::Underscores;
  static MessageHead head;
  std::string with = "GET / HTTP/1.1\r\nHost: x\r\nA_b: 1\r\n\r\n";
  std::string without = "GET / HTTP/1.1\r\nHost: x\r\nA-b: 1\r\n\r\n";
  HeaderPolicy reject{U::reject};
  HeaderPolicy keep{U::keep};
  CHECK(parse_request_head(with.data(), with.size(), HeadLimits{}, head).status == ParseStatus::done);
  CHECK(refuses_header_names(head, reject));
  CHECK(!refuses_header_names(head, keep));
  CHECK(parse_request_head(without.data(), without.size(), HeadLimits{}, head).status == ParseStatus::done);
  CHECK(!refuses_header_names(head, reject));
}

TEST(request_head_client_subject_header_replaces_the_clients_copy) {
  static MessageHead head;
  const std::string raw = "GET / HTTP/1.1\r\nHost: x\r\nx-client-subject: CN=forged\r\nAccept: */*\r\n\r\n";
  CHECK(parse_request_head(raw.data(), raw.size(), HeadLimits{}, head).status == ParseStatus::done);
  lb::buffer::BufferPool pool;
  lb::buffer::ByteBuffer out;
  out.attach_pool(&pool);
  RequestHeadOptions options;
  options.forwarded.mode = Mode::none;
  options.client_subject_header = "X-Client-Subject";
  options.client_subject = "CN=client,O=Example";
  CHECK(write_request_head(head, options, out));
  CHECK_EQ(std::string(out.view()),
           std::string("GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nX-Client-Subject: CN=client,O=Example\r\n\r\n"));
  // No verified certificate: the client's copy is still dropped, nothing is added.
  out.clear();
  options.client_subject = "";
  CHECK(write_request_head(head, options, out));
  CHECK_EQ(std::string(out.view()), std::string("GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"));
}
