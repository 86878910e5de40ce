// Unit tests of the HTTP/1.x head parser (native/http1/parser.h): every rejection rule
// with its exact error, the valid forms, limits at and one past the boundary, and the
// incremental behaviour (need_more on every prefix, consumed stopping at the head).
#include <algorithm>
#include <string>
#include <string_view>

#include "http1/parser.h"
#include "tests/test_framework.h"

namespace {

using namespace lb::http1;

MessageHead g_head;   // big: one scratch head for every test, as a worker would keep
std::string g_bytes;  // the bytes g_head's views point into, kept until the next parse

ParseResult req(std::string_view s, const HeadLimits& limits = {}) {
  g_bytes.assign(s);
  return parse_request_head(g_bytes.data(), g_bytes.size(), limits, g_head);
}

ParseResult resp(std::string_view s, Method method = Method::get, const HeadLimits& limits = {}) {
  g_bytes.assign(s);
  return parse_response_head(g_bytes.data(), g_bytes.size(), limits, method, g_head);
}

// The error of a request head, ParseError::none when it parsed (or needs more).
ParseError req_error(std::string_view s, const HeadLimits& limits = {}) {
  ParseResult r = req(s, limits);
  return r.status == ParseStatus::error ? r.error : ParseError::none;
}

ParseError resp_error(std::string_view s, Method method = Method::get) {
  ParseResult r = resp(s, method);
  return r.status == ParseStatus::error ? r.error : ParseError::none;
}

bool req_ok(std::string_view s) { return req(s).status == ParseStatus::done; }

// A minimal HTTP/1.1 request head with extra header lines.
std::string get_with(std::string_view headers) {
  return "GET / HTTP/1.1\r\nHost: example.com\r\n" + std::string(headers) + "\r\n";
}

const HeaderField* find_header(std::string_view name) {
  for (uint32_t i = 0; i < g_head.header_count; ++i) {
    if (equals_ignore_case(g_head.headers[i].name, name)) return &g_head.headers[i];
  }
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------- valid requests

TEST(parser_simple_get) {
  const std::string s = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  ParseResult r = req(s);
  CHECK(r.status == ParseStatus::done);
  CHECK_EQ(r.consumed, s.size());
  CHECK_EQ(g_head.head_bytes, s.size());
  CHECK(g_head.method == Method::get);
  CHECK(g_head.method_text == "GET");
  CHECK(g_head.target == "/index.html?q=1");
  CHECK_EQ(g_head.version_minor, 1);
  CHECK_EQ(g_head.header_count, 2u);
  CHECK(g_head.headers[0].name == "Host");
  CHECK(g_head.headers[0].value == "example.com");
  CHECK(!g_head.headers[0].hop_by_hop);
  CHECK(g_head.headers[1].name == "Accept");
  CHECK(g_head.headers[1].value == "*/*");
  CHECK(g_head.host == "example.com");
  CHECK(g_head.body == BodyKind::none);
  CHECK(!g_head.connection_close);
  CHECK(!g_head.expect_continue);
}

TEST(parser_methods) {
  struct Case {
    const char* text;
    Method method;
  } cases[] = {{"GET", Method::get},     {"HEAD", Method::head},      {"POST", Method::post},
               {"PUT", Method::put},     {"DELETE", Method::delete_}, {"OPTIONS", Method::options},
               {"TRACE", Method::trace}, {"PATCH", Method::patch},    {"PROPFIND", Method::other},
               {"get", Method::other},   {"M-SEARCH", Method::other}};
  for (const Case& c : cases) {
    std::string s = std::string(c.text) + " / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(req_ok(s));
    CHECK(g_head.method == c.method);
    CHECK(g_head.method_text == c.text);
  }
}

TEST(parser_http10_without_host) {
  CHECK(req_ok("GET / HTTP/1.0\r\n\r\n"));
  CHECK_EQ(g_head.version_minor, 0);
  CHECK(g_head.host.empty());
  CHECK(req_ok("GET / HTTP/1.0\r\nHost: a.example\r\n\r\n"));
  CHECK(g_head.host == "a.example");
}

TEST(parser_pipelined_consumed_stops_at_head) {
  const std::string first = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string both = first + "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  ParseResult r = req(both);
  CHECK(r.status == ParseStatus::done);
  CHECK_EQ(r.consumed, first.size());
  CHECK(g_head.target == "/a");
  // Bytes after the head are not looked at, even garbage.
  r = req(first + "\x01\n\r garbage");
  CHECK(r.status == ParseStatus::done);
  CHECK_EQ(r.consumed, first.size());
  // The second request, from where the first ended.
  r = req(std::string_view(both).substr(first.size()));
  CHECK(r.status == ParseStatus::done);
  CHECK(g_head.target == "/b");
}

TEST(parser_need_more_on_every_prefix) {
  const std::string heads[] = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "\r\nPOST /upload HTTP/1.1\r\nHost: h:8080\r\nContent-Length: 5\r\nX: \t y \r\n\r\n",
      "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
      "GET http://h/p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
  };
  for (const std::string& s : heads) {
    for (size_t k = 0; k < s.size(); ++k) {
      ParseResult r = req(std::string_view(s).substr(0, k));
      CHECK(r.status == ParseStatus::need_more);
      CHECK_EQ(r.consumed, 0u);
    }
    ParseResult r = req(s);
    CHECK(r.status == ParseStatus::done);
    CHECK_EQ(r.consumed, s.size());
  }
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
  for (size_t k = 0; k < response.size(); ++k) {
    CHECK(resp(std::string_view(response).substr(0, k)).status == ParseStatus::need_more);
  }
  CHECK(resp(response).status == ParseStatus::done);
}

TEST(parser_errors_found_before_head_end) {
  // A bad byte is reported as soon as it arrives, not when the head is complete.
  ParseResult r = req("G(T / HTTP/1.1");
  CHECK(r.status == ParseStatus::error);
  CHECK(r.error == ParseError::bad_method);
  CHECK_EQ(r.error_offset, 1u);
  r = req("GET / HTTP/1.1\r\nHost: a\r\nX\x01");
  CHECK(r.error == ParseError::bad_header_name);
  CHECK_EQ(r.error_offset, 26u);
}

TEST(parser_one_leading_empty_line) {
  ParseResult r = req("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r.status == ParseStatus::done);
  CHECK_EQ(r.consumed, 29u);
  CHECK(g_head.target == "/");
  CHECK(req_error("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_start_line);
  CHECK(req_error("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bare_lf);
  CHECK(req_error("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bare_cr);
}

// ---------------------------------------------------------------- request line

TEST(parser_bad_method) {
  CHECK(req_error("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_method);
  CHECK(req_error(" GET / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_method);
  CHECK(req_error("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_method);
  CHECK(req_error("G\x80T / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_method);
  CHECK(req_error("GET\r\n\r\n") == ParseError::bad_start_line);
}

TEST(parser_bad_target) {
  CHECK(req_error("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error(std::string("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 30)) == ParseError::bad_target);
  CHECK(req_error("GET a HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET ?q HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  // HTTP/0.9 style: no version.
  CHECK(req_error("GET /\r\n\r\n") == ParseError::bad_start_line);
}

TEST(parser_target_forms) {
  // origin-form, including an empty first segment.
  CHECK(req_ok("GET //a/b?c=d&e HTTP/1.1\r\nHost: a\r\n\r\n"));
  // asterisk-form only for OPTIONS.
  CHECK(req_ok("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK(g_head.target == "*");
  CHECK(req_error("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  // authority-form only for CONNECT, with a port.
  CHECK(req_ok("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
  CHECK(g_head.method == Method::connect);
  CHECK(g_head.target == "example.com:443");
  CHECK(req_ok("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(req_error("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("CONNECT http://a:1/ HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
}

TEST(parser_absolute_form) {
  CHECK(req_ok("GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  CHECK(g_head.target == "http://example.com/p?q");
  CHECK(req_ok("GET HTTPS://Example.com:8443 HTTP/1.1\r\nHost: example.COM:8443\r\n\r\n"));
  CHECK(req_ok("GET http://a?x HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK(req_ok("OPTIONS http://a HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK(req_ok("GET http://a/ HTTP/1.0\r\n\r\n"));
  // Host must agree with the target's authority.
  CHECK(req_error("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n") == ParseError::bad_host);
  CHECK(req_error("GET http://a/ HTTP/1.1\r\nHost: a:80\r\n\r\n") == ParseError::bad_host);
  CHECK(req_error("GET http://a/ HTTP/1.1\r\n\r\n") == ParseError::missing_host);
  // Other schemes, userinfo, empty or malformed authority.
  CHECK(req_error("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET http://a:x/ HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
  CHECK(req_error("GET http:a HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_target);
}

TEST(parser_versions) {
  CHECK(req_ok("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK_EQ(g_head.version_minor, 1);
  CHECK(req_ok("GET / HTTP/1.0\r\n\r\n"));
  CHECK_EQ(g_head.version_minor, 0);
  CHECK(req_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == ParseError::unsupported_version);
  CHECK(req_error("GET / HTTP/0.9\r\n\r\n") == ParseError::unsupported_version);
  CHECK(req_error("GET / HTTP/1.2\r\nHost: a\r\n\r\n") == ParseError::unsupported_version);
  CHECK(req_error("GET / HTTP/3.1\r\nHost: a\r\n\r\n") == ParseError::unsupported_version);
  CHECK(req_error("GET / http/1.1\r\nHost: a\r\n\r\n") == ParseError::bad_version);
  CHECK(req_error("GET / HTTP/1.10\r\nHost: a\r\n\r\n") == ParseError::bad_version);
  CHECK(req_error("GET / HTTP/11.1\r\nHost: a\r\n\r\n") == ParseError::bad_version);
  CHECK(req_error("GET / HTTP/1\r\nHost: a\r\n\r\n") == ParseError::bad_version);
  CHECK(req_error("GET / HTTP/1.x\r\nHost: a\r\n\r\n") == ParseError::bad_version);
  CHECK(req_error("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == ParseError::bad_version);
  CHECK(req_error("GET / HTTP/2.0x\r\nHost: a\r\n\r\n") == ParseError::bad_version);
  CHECK(req_error("GET / HTTP/1.1\r\r\n") == ParseError::bare_cr);
  CHECK(req_error("GET / HTTP/1.1\nHost: a\n\n") == ParseError::bare_lf);
  CHECK_EQ(to_status(ParseError::unsupported_version), 505);
}

// ---------------------------------------------------------------- limits

TEST(parser_start_line_limit) {
  HeadLimits limits;
  limits.max_start_line = 32;
  // "GET /" + path + " HTTP/1.1" is exactly 32 bytes: allowed.
  const std::string at_limit = "GET /" + std::string(18, 'a') + " HTTP/1.1";
  CHECK_EQ(at_limit.size(), 32u);
  CHECK(req(at_limit + "\r\nHost: a\r\n\r\n", limits).status == ParseStatus::done);
  const std::string over = "GET /" + std::string(19, 'a') + " HTTP/1.1";
  ParseResult r = req(over + "\r\nHost: a\r\n\r\n", limits);
  CHECK(r.status == ParseStatus::error);
  CHECK(r.error == ParseError::start_line_too_long);
  CHECK_EQ(r.error_offset, 32u);
  CHECK_EQ(to_status(r.error), 414);
  // Found as soon as byte 33 arrives, without waiting for a CRLF.
  const std::string stream = "GET /" + std::string(100, 'a');
  CHECK(req(std::string_view(stream).substr(0, 32), limits).status == ParseStatus::need_more);
  r = req(std::string_view(stream).substr(0, 33), limits);
  CHECK(r.error == ParseError::start_line_too_long);
  // The leading empty line does not count.
  CHECK(req("\r\n" + at_limit + "\r\nHost: a\r\n\r\n", limits).status == ParseStatus::done);
  // A line ending exactly at the limit but malformed is malformed, not too long.
  const std::string short_line = "GET /" + std::string(27, 'a');
  CHECK(req_error(short_line + "\r\n\r\n", limits) == ParseError::bad_start_line);
}

TEST(parser_response_start_line_limit) {
  HeadLimits limits;
  limits.max_start_line = 15;
  CHECK(resp("HTTP/1.1 200 OK\r\n\r\n", Method::get, limits).status == ParseStatus::done);
  ParseResult r = resp("HTTP/1.1 200 OKK\r\n\r\n", Method::get, limits);
  CHECK(r.error == ParseError::start_line_too_long);
  CHECK_EQ(r.error_offset, 15u);
}

TEST(parser_head_size_limit) {
  const std::string base = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  const std::string head = base + std::string(10, 'v') + "\r\n\r\n";
  HeadLimits limits;
  limits.max_head_bytes = static_cast<uint32_t>(head.size());
  CHECK(req(head, limits).status == ParseStatus::done);
  // With more bytes after the head, still fine.
  CHECK(req(head + "GET", limits).status == ParseStatus::done);
  const std::string bigger = base + std::string(11, 'v') + "\r\n\r\n";
  ParseResult r = req(bigger, limits);
  CHECK(r.status == ParseStatus::error);
  CHECK(r.error == ParseError::head_too_large);
  CHECK_EQ(r.error_offset, head.size());
  CHECK_EQ(to_status(r.error), 431);
  // Reported while the head is still incomplete, once the limit is filled.
  const std::string partial = base + std::string(100, 'v');
  CHECK(req(std::string_view(partial).substr(0, head.size() - 1), limits).status == ParseStatus::need_more);
  CHECK(req_error(std::string_view(partial).substr(0, head.size()), limits) == ParseError::head_too_large);
  // Limits apply to responses too.
  CHECK(resp_error(std::string("HTTP/1.1 200 OK\r\nX: ") + std::string(20000, 'v')) == ParseError::head_too_large);
}

TEST(parser_header_count_limit) {
  HeadLimits limits;
  limits.max_header_count = 3;
  CHECK(req("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n", limits).status == ParseStatus::done);
  ParseResult r = req("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD: 3\r\n\r\n", limits);
  CHECK(r.error == ParseError::too_many_headers);
  CHECK_EQ(to_status(r.error), 431);
  // The hard ceiling applies whatever the configured limit.
  limits.max_header_count = 100000;
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (uint32_t i = 1; i < kMaxHeaderFields; ++i) many += "X: y\r\n";
  limits.max_head_bytes = 1 << 20;
  CHECK(req(many + "\r\n", limits).status == ParseStatus::done);
  CHECK_EQ(g_head.header_count, kMaxHeaderFields);
  CHECK(req_error(many + "X: y\r\n\r\n", limits) == ParseError::too_many_headers);
}

// ---------------------------------------------------------------- header fields

TEST(parser_header_names) {
  CHECK(req_ok(get_with("X-Weird!#$%&'*+-.^_`|~0: v\r\n")));
  CHECK(req_error(get_with(": v\r\n")) == ParseError::bad_header_name);
  CHECK(req_error(get_with("X(: v\r\n")) == ParseError::bad_header_name);
  CHECK(req_error(get_with("X\x80: v\r\n")) == ParseError::bad_header_name);
  CHECK(req_error(get_with("X\x01: v\r\n")) == ParseError::bad_header_name);
  CHECK(req_error(get_with("X : v\r\n")) == ParseError::space_before_colon);
  CHECK(req_error(get_with("X\t: v\r\n")) == ParseError::space_before_colon);
  CHECK(req_error("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == ParseError::space_before_colon);
  CHECK(req_error(get_with("NoColon\r\n")) == ParseError::missing_colon);
  CHECK(req_error(get_with("NoColon\n")) == ParseError::bare_lf);
}

TEST(parser_header_values) {
  CHECK(req_ok(get_with("X:   padded value \t \r\n")));
  CHECK(find_header("X")->value == "padded value");
  CHECK(req_ok(get_with("X:\r\n")));
  CHECK(find_header("X")->value.empty());
  CHECK(req_ok(get_with("X: a\tb\r\n")));
  CHECK(find_header("X")->value == "a\tb");
  CHECK(req_ok(get_with("X: caf\xc3\xa9\r\n")));  // obs-text is allowed in values
  CHECK(find_header("X")->value == "caf\xc3\xa9");
  CHECK(req_error(get_with(std::string("X: a\0b\r\n", 8))) == ParseError::bad_header_value);
  CHECK(req_error(get_with("X: a\x01"
                           "b\r\n")) == ParseError::bad_header_value);
  CHECK(req_error(get_with("X: a\x1f\r\n")) == ParseError::bad_header_value);
  CHECK(req_error(get_with("X: a\x7f\r\n")) == ParseError::bad_header_value);
  CHECK(req_error(get_with("X: a\rb\r\n")) == ParseError::bare_cr);
  CHECK(req_error(get_with("X: a\nY: b\r\n")) == ParseError::bare_lf);
  CHECK_EQ(to_status(ParseError::bad_header_value), 400);
}

TEST(parser_obs_fold) {
  CHECK(req_error(get_with("X: a\r\n  continued\r\n")) == ParseError::obs_fold);
  CHECK(req_error(get_with("X: a\r\n\tcontinued\r\n")) == ParseError::obs_fold);
  // Whitespace between the start line and the first header.
  CHECK(req_error("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == ParseError::obs_fold);
}

TEST(parser_bare_lf_and_cr) {
  CHECK(req_error("GET / HTTP/1.1\nHost: a\r\n\r\n") == ParseError::bare_lf);
  CHECK(req_error("GET / HTTP/1.1\r\nHost: a\n\r\n") == ParseError::bare_lf);
  CHECK(req_error("GET / HTTP/1.1\r\nHost: a\r\n\n") == ParseError::bare_lf);
  CHECK(req_error("GET /\n HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bare_lf);
  CHECK(req_error("GET / HTTP/1.1\r\nHost: a\r\n\rX") == ParseError::bare_cr);
  CHECK(req_error("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n") == ParseError::bare_cr);
  CHECK(req_error("GET / HTTP/1.1\r\nHost: a\r\nX: y\rZ: w\r\n\r\n") == ParseError::bare_cr);
  ParseResult r = req("GET / HTTP/1.1\r\nHost: a\r\nX: y\n");
  CHECK_EQ(r.error_offset, 29u);
  // A CR at the end of the input may still be followed by LF.
  CHECK(req("GET / HTTP/1.1\r\nHost: a\r").status == ParseStatus::need_more);
}

// ---------------------------------------------------------------- framing

TEST(parser_content_length) {
  CHECK(req_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n"));
  CHECK(g_head.body == BodyKind::content_length);
  CHECK_EQ(g_head.content_length, 42u);
  CHECK(find_header("content-length")->hop_by_hop);
  CHECK(req_ok(get_with("Content-Length: 0\r\n")));
  CHECK(g_head.body == BodyKind::content_length);
  CHECK_EQ(g_head.content_length, 0u);
  CHECK(req_ok(get_with("content-LENGTH:  7 \r\n")));
  CHECK_EQ(g_head.content_length, 7u);
  CHECK(req_ok(get_with("Content-Length: 007\r\n")));
  CHECK_EQ(g_head.content_length, 7u);
  CHECK(req_ok(get_with("Content-Length: 18446744073709551615\r\n")));
  CHECK_EQ(g_head.content_length, 18446744073709551615ull);
  CHECK(req_error(get_with("Content-Length: 18446744073709551616\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: 99999999999999999999999\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: +5\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: -1\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: 0x5\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: 5 5\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: 5\t5\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: 5.0\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length:\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: 5,\r\n")) == ParseError::bad_content_length);
  CHECK(req_error(get_with("Content-Length: ,5\r\n")) == ParseError::bad_content_length);
}

TEST(parser_content_length_folding) {
  CHECK(req_ok(get_with("Content-Length: 5, 5\r\n")));
  CHECK_EQ(g_head.content_length, 5u);
  CHECK(req_ok(get_with("Content-Length: 5,5 ,  5\r\n")));
  CHECK_EQ(g_head.content_length, 5u);
  CHECK(req_ok(get_with("Content-Length: 5\r\nContent-Length: 5\r\n")));
  CHECK(g_head.body == BodyKind::content_length);
  CHECK_EQ(g_head.content_length, 5u);
  CHECK(req_error(get_with("Content-Length: 5, 6\r\n")) == ParseError::conflicting_content_length);
  CHECK(req_error(get_with("Content-Length: 5\r\nContent-Length: 6\r\n")) == ParseError::conflicting_content_length);
  CHECK(req_error(get_with("Content-Length: 0\r\nContent-Length: 00, 1\r\n")) ==
        ParseError::conflicting_content_length);
}

TEST(parser_transfer_encoding) {
  CHECK(req_ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
  CHECK(g_head.body == BodyKind::chunked);
  CHECK(find_header("transfer-encoding")->hop_by_hop);
  CHECK(req_ok(get_with("Transfer-Encoding:  CHUNKED \r\n")));
  CHECK(g_head.body == BodyKind::chunked);
  CHECK(req_error(get_with("Transfer-Encoding: gzip, chunked\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: chunked, gzip\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: chunked, chunked\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) ==
        ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")) ==
        ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: identity\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: chunked;q=1\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: xchunked\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding:\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: chunked,\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: \"chunked\"\r\n")) == ParseError::bad_transfer_encoding);
  CHECK(req_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == ParseError::transfer_encoding_in_http10);
}

TEST(parser_content_length_with_transfer_encoding) {
  CHECK(req_error(get_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")) ==
        ParseError::content_length_with_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) ==
        ParseError::content_length_with_transfer_encoding);
  CHECK(req_error(get_with("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n")) ==
        ParseError::content_length_with_transfer_encoding);
  CHECK(resp_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        ParseError::content_length_with_transfer_encoding);
}

// ---------------------------------------------------------------- Host

TEST(parser_host) {
  CHECK(req_error("GET / HTTP/1.1\r\n\r\n") == ParseError::missing_host);
  CHECK(req_error("GET / HTTP/1.1\r\nX: y\r\n\r\n") == ParseError::missing_host);
  CHECK(req_error("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == ParseError::duplicate_host);
  CHECK(req_error("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == ParseError::duplicate_host);
  const char* good[] = {"example.com", "EXAMPLE.com:8080",  "127.0.0.1", "127.0.0.1:80",
                        "[::1]",       "[2001:db8::1]:443", "a-b_c~d.e", "xn--bcher-kva.example",
                        "a%20b",       "a:65535",           "a:0"};
  for (const char* h : good) {
    CHECK(req_ok("GET / HTTP/1.1\r\nHost: " + std::string(h) + "\r\n\r\n"));
    CHECK(g_head.host == h);
  }
  const char* bad[] = {"",         "a b",  "a/b", "a?b",   "a#b", "a@b",  "a,b",   "a:",     ":80",  "a:x", "a:65536",
                       "a:123456", "[::1", "[]",  "[x::]", "a%2", "a%zz", "a:1:2", "[::1]x", "a\"b", "a<b"};
  for (const char* h : bad) {
    CHECK(req_error("GET / HTTP/1.1\r\nHost: " + std::string(h) + "\r\n\r\n") == ParseError::bad_host);
  }
  // Responses may carry anything under that name: it is not routed on.
  CHECK(resp_error("HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\nContent-Length: 0\r\n\r\n") == ParseError::none);
}

// ---------------------------------------------------------------- connection facts

TEST(parser_connection_tokens) {
  CHECK(req_ok(get_with("Connection: close\r\n")));
  CHECK(g_head.connection_close);
  CHECK(!g_head.connection_keep_alive);
  CHECK(find_header("connection")->hop_by_hop);
  CHECK(req_ok(get_with("connection: Keep-Alive , UPGRADE,,\r\nUpgrade: websocket\r\n")));
  CHECK(g_head.connection_keep_alive);
  CHECK(g_head.connection_upgrade);
  CHECK(!g_head.connection_close);
  CHECK(g_head.has_upgrade_header);
  CHECK(g_head.upgrade == "websocket");
  CHECK(find_header("upgrade")->hop_by_hop);
  CHECK(req_error(get_with("Connection: close; x\r\n")) == ParseError::bad_header_value);
  CHECK(req_error(get_with("Connection: a b\r\n")) == ParseError::bad_header_value);
}

TEST(parser_hop_by_hop_marking) {
  // Named before and after the Connection header that names them.
  CHECK(
      req_ok(get_with("X-Before: 1\r\nConnection: x-before, X-After\r\nX-After: 2\r\n"
                      "X-Other: 3\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\n"
                      "TE: trailers\r\nTrailer: x\r\n")));
  CHECK(find_header("x-before")->hop_by_hop);
  CHECK(find_header("x-after")->hop_by_hop);
  CHECK(!find_header("x-other")->hop_by_hop);
  CHECK(find_header("keep-alive")->hop_by_hop);
  CHECK(find_header("proxy-connection")->hop_by_hop);
  CHECK(find_header("te")->hop_by_hop);
  CHECK(find_header("trailer")->hop_by_hop);
  // Host cannot be stripped through Connection.
  CHECK(req_ok(get_with("Connection: host\r\n")));
  CHECK(!find_header("host")->hop_by_hop);
  CHECK(g_head.host == "example.com");
  // Responses get the same marking.
  CHECK(resp_error("HTTP/1.1 200 OK\r\nConnection: x-a\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n") == ParseError::none);
  CHECK(find_header("x-a")->hop_by_hop);
  // A flood of Connection options is refused.
  std::string options = "Connection: a0";
  for (int i = 1; i <= 32; ++i) options += ",a" + std::to_string(i);
  CHECK(req_error(get_with(options + "\r\n")) == ParseError::bad_header_value);
}

TEST(parser_expect_and_upgrade) {
  CHECK(req_ok(get_with("Expect: 100-Continue\r\n")));
  CHECK(g_head.expect_continue);
  CHECK(req_ok(get_with("Expect: something-else\r\n")));
  CHECK(!g_head.expect_continue);
  CHECK(req_ok("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"));
  CHECK(!g_head.expect_continue);
  CHECK(req_ok(get_with("")));
  CHECK(!g_head.has_upgrade_header);
  CHECK(g_head.upgrade.empty());
}

// ---------------------------------------------------------------- responses

TEST(parser_response_status_line) {
  CHECK(resp_error("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") == ParseError::none);
  CHECK_EQ(g_head.status, 200);
  CHECK(g_head.reason == "OK");
  CHECK_EQ(g_head.version_minor, 1);
  CHECK(resp("HTTP/1.0 404 Not Found Here\r\n\r\n").status == ParseStatus::done);
  CHECK_EQ(g_head.status, 404);
  CHECK(g_head.reason == "Not Found Here");
  CHECK_EQ(g_head.version_minor, 0);
  // Empty reason, with and without the SP.
  CHECK(resp("HTTP/1.1 200 \r\n\r\n").status == ParseStatus::done);
  CHECK(g_head.reason.empty());
  CHECK(resp("HTTP/1.1 200\r\n\r\n").status == ParseStatus::done);
  CHECK_EQ(g_head.status, 200);
  CHECK(g_head.reason.empty());
  CHECK(resp("HTTP/1.1 599 x\r\n\r\n").status == ParseStatus::done);
  CHECK(resp("HTTP/1.1 200 caf\xc3\xa9\tok\r\n\r\n").status == ParseStatus::done);

  CHECK(resp_error("HTTP/1.1 099 x\r\n\r\n") == ParseError::bad_status);
  CHECK(resp_error("HTTP/1.1 000\r\n\r\n") == ParseError::bad_status);
  CHECK(resp_error("HTTP/1.1 20 OK\r\n\r\n") == ParseError::bad_status);
  CHECK(resp_error("HTTP/1.1 2000 OK\r\n\r\n") == ParseError::bad_status);
  CHECK(resp_error("HTTP/1.1 2x0 OK\r\n\r\n") == ParseError::bad_status);
  CHECK(resp_error("HTTP/1.1 OK\r\n\r\n") == ParseError::bad_status);
  CHECK(resp_error("HTTP/1.1 200OK\r\n\r\n") == ParseError::bad_status);
  CHECK(resp_error("HTTP/1.1\r\n\r\n") == ParseError::bad_start_line);
  CHECK(resp_error("HTTP/1.1  200 OK\r\n\r\n") == ParseError::bad_status);
  CHECK(resp_error("HTTP/1.1 200 O\x01K\r\n\r\n") == ParseError::bad_start_line);
  CHECK(resp_error("HTTP/1.1 200 OK\n\r\n") == ParseError::bare_lf);
  CHECK(resp_error("HTTP/2.0 200 OK\r\n\r\n") == ParseError::unsupported_version);
  CHECK(resp_error("HTTP/1.1\t200 OK\r\n\r\n") == ParseError::bad_version);
  CHECK(resp_error("HTTX/1.1 200 OK\r\n\r\n") == ParseError::bad_version);
  CHECK(resp_error("\r\nHTTP/1.1 200 OK\r\n\r\n") == ParseError::bad_version);
}

TEST(parser_response_body_rules) {
  CHECK(resp_error("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n") == ParseError::none);
  CHECK(g_head.body == BodyKind::content_length);
  CHECK_EQ(g_head.content_length, 12u);
  CHECK(resp_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == ParseError::none);
  CHECK(g_head.body == BodyKind::chunked);
  CHECK(resp_error("HTTP/1.1 200 OK\r\n\r\n") == ParseError::none);
  CHECK(g_head.body == BodyKind::until_close);
  CHECK(resp_error("HTTP/1.0 200 OK\r\n\r\n") == ParseError::none);
  CHECK(g_head.body == BodyKind::until_close);
  // HEAD: never a body, whatever the headers say.
  CHECK(resp_error("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", Method::head) == ParseError::none);
  CHECK(g_head.body == BodyKind::none);
  CHECK(resp_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", Method::head) == ParseError::none);
  CHECK(g_head.body == BodyKind::none);
  // 1xx, 204, 304: no body; Content-Length ignored for framing.
  const char* no_body[] = {"HTTP/1.1 100 Continue\r\n\r\n",
                           ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: upgrade\r\n\r\n"),
                           "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
                           "HTTP/1.1 204 No Content\r\n\r\n",
                           "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                           "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
                           "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"};
  for (const char* s : no_body) {
    CHECK(resp_error(s) == ParseError::none);
    CHECK(g_head.body == BodyKind::none);
  }
  CHECK(g_head.status == 304);
  CHECK(resp_error("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: upgrade\r\n\r\n") == ParseError::none);
  CHECK(g_head.connection_upgrade);
  CHECK(g_head.has_upgrade_header);
  // Transfer-Encoding where no body may be: refused.
  CHECK(resp_error("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        ParseError::bad_transfer_encoding);
  CHECK(resp_error("HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n") == ParseError::bad_transfer_encoding);
  // CONNECT: 2xx turns the connection into a tunnel; other statuses are normal.
  CHECK(resp_error("HTTP/1.1 200 Connection Established\r\n\r\n", Method::connect) == ParseError::none);
  CHECK(g_head.body == BodyKind::until_close);
  CHECK(resp_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", Method::connect) == ParseError::none);
  CHECK(g_head.body == BodyKind::until_close);
  CHECK(resp_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", Method::connect) ==
        ParseError::bad_transfer_encoding);
  CHECK(resp_error("HTTP/1.1 407 Auth\r\nContent-Length: 5\r\n\r\n", Method::connect) == ParseError::none);
  CHECK(g_head.body == BodyKind::content_length);
  // Framing errors apply to responses as to requests.
  CHECK(resp_error("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == ParseError::transfer_encoding_in_http10);
  CHECK(resp_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == ParseError::bad_transfer_encoding);
  CHECK(resp_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") ==
        ParseError::conflicting_content_length);
  CHECK(resp_error("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n") == ParseError::bad_content_length);
  CHECK(resp_error("HTTP/1.1 304 Not Modified\r\nContent-Length: -1\r\n\r\n") == ParseError::bad_content_length);
}

TEST(parser_response_pipelined_1xx) {
  const std::string first = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string all = first + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  ParseResult r = resp(all);
  CHECK(r.status == ParseStatus::done);
  CHECK_EQ(r.consumed, first.size());
  CHECK_EQ(g_head.status, 100);
  r = resp(std::string_view(all).substr(first.size()));
  CHECK(r.status == ParseStatus::done);
  CHECK_EQ(g_head.status, 200);
}

// ---------------------------------------------------------------- helpers

TEST(parser_to_status_and_strings) {
  CHECK_EQ(to_status(ParseError::start_line_too_long), 414);
  CHECK_EQ(to_status(ParseError::head_too_large), 431);
  CHECK_EQ(to_status(ParseError::too_many_headers), 431);
  CHECK_EQ(to_status(ParseError::unsupported_version), 505);
  for (int e = 0; e <= static_cast<int>(ParseError::bad_status); ++e) {
    const ParseError error = static_cast<ParseError>(e);
    const uint16_t s = to_status(error);
    CHECK(s == 400 || s == 414 || s == 431 || s == 505);
    CHECK(std::string_view(to_string(error)) != "unknown");
  }
  CHECK(std::string_view(to_string(ParseError::bare_lf)) == "bare_lf");
}

TEST(parser_equals_ignore_case) {
  CHECK(equals_ignore_case("Content-Length", "content-length"));
  CHECK(equals_ignore_case("", ""));
  CHECK(!equals_ignore_case("Host", "Hos"));
  CHECK(!equals_ignore_case("[", "{"));  // not a blind OR of 0x20
  CHECK(!equals_ignore_case("@", "`"));
}

TEST(scan_head_end_basic) {
  const std::string s = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
  HeadEndScan r = scan_head_end(s.data(), s.size(), 0);
  CHECK_EQ(r.head_length, s.size() - 4);
  CHECK(!r.bare_lf);
  r = scan_head_end(s.data(), 10, 0);
  CHECK_EQ(r.head_length, 0u);
  CHECK_EQ(r.next_from, 10u);
  const std::string lf = "GET / HTTP/1.1\r\nHost: a\n\r\n";
  r = scan_head_end(lf.data(), lf.size(), 0);
  CHECK(r.bare_lf);
  CHECK_EQ(r.head_length, 0u);
  r = scan_head_end("\n", 1, 0);
  CHECK(r.bare_lf);
  r = scan_head_end("", 0, 0);
  CHECK_EQ(r.head_length, 0u);
  r = scan_head_end(s.data(), 5, 99);  // `from` past the end is clamped
  CHECK_EQ(r.head_length, 0u);
}

TEST(scan_head_end_resumes_across_every_split) {
  // The terminator may straddle reads at any point: feeding the bytes in two reads,
  // resuming at next_from, finds the same end as one scan.
  const std::string s = "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nGET";
  const size_t expected = s.size() - 3;
  for (size_t split = 0; split <= s.size(); ++split) {
    HeadEndScan r = scan_head_end(s.data(), split, 0);
    if (r.head_length == 0) r = scan_head_end(s.data(), s.size(), r.next_from);
    CHECK_EQ(r.head_length, expected);
    CHECK(!r.bare_lf);
  }
  // And one byte at a time.
  size_t from = 0;
  size_t found = 0;
  for (size_t len = 1; len <= s.size() && found == 0; ++len) {
    HeadEndScan r = scan_head_end(s.data(), len, from);
    found = r.head_length;
    from = r.next_from;
  }
  CHECK_EQ(found, expected);
}

TEST(scan_head_end_agrees_with_parser) {
  const std::string heads[] = {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "\r\n\r\n",
                               "GET /\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"};
  for (const std::string& s : heads) {
    HeadEndScan scan = scan_head_end(s.data(), s.size(), 0);
    CHECK_EQ(scan.head_length, s.size());
    ParseResult r = req(s);
    CHECK(r.status != ParseStatus::need_more);
    if (r.status == ParseStatus::done) CHECK_EQ(r.consumed, scan.head_length);
  }
}

// ---------------------------------------------------------------- byte classes

// Every byte value at every position of a long value and a long target, so that both the
// sixteen-at-a-time scan and the byte loop after it are covered, at every alignment.
TEST(parser_every_byte_in_values_and_targets) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool value_ok = b == '\t' || (b >= 0x20 && b != 0x7f);
    const bool target_ok = b > 0x20 && b < 0x7f && b != '#';
    for (size_t pos = 0; pos < 40; ++pos) {
      std::string value(40, 'v');
      value[pos] = c;
      std::string s = "GET / HTTP/1.1\r\nHost: a\r\nX: " + value + "z\r\n\r\n";
      ParseError e = req_error(s);
      if (value_ok) {
        CHECK(e == ParseError::none);
      } else if (b == '\r') {
        CHECK(e == ParseError::bare_cr);
      } else if (b == '\n') {
        CHECK(e == ParseError::bare_lf);
      } else {
        CHECK(e == ParseError::bad_header_value);
        CHECK_EQ(req(s).error_offset, 28 + pos);
      }

      if (b == ' ') continue;  // ends the target early: a different error
      std::string target(40, 't');
      target[pos] = c;
      s = "GET /" + target + " HTTP/1.1\r\nHost: a\r\n\r\n";
      e = req_error(s);
      if (target_ok) {
        CHECK(e == ParseError::none);
      } else if (b == '\n') {
        CHECK(e == ParseError::bare_lf);
      } else if (b == '\r') {
        CHECK(e == ParseError::bare_cr);
      } else {
        CHECK(e == ParseError::bad_target);
        CHECK_EQ(req(s).error_offset, 5 + pos);
      }
      // The reason phrase shares the value class.
      s = "HTTP/1.1 200 " + value + "\r\n\r\n";
      e = resp_error(s);
      if (value_ok) {
        CHECK(e == ParseError::none);
      } else if (b == '\r') {
        CHECK(e == ParseError::bare_cr);
      } else if (b == '\n') {
        CHECK(e == ParseError::bare_lf);
      } else {
        CHECK(e == ParseError::bad_start_line);
      }
    }
  }
}

// ---------------------------------------------------------------- request line check

namespace {

// Feeds `s` to check_request_line in pieces of `step` bytes (all bytes so far on each
// call, as a connection does). Returns the first error, or a need_more result; `at` is
// the number of bytes received when the error came.
ParseResult line_check(std::string_view s, size_t step, size_t& at, const HeadLimits& limits = {}) {
  g_bytes.assign(s);
  RequestLineCheck check;
  ParseResult r;
  for (size_t have = 0; have < g_bytes.size();) {
    have = std::min(g_bytes.size(), have + step);
    r = check_request_line(g_bytes.data(), have, limits, check, g_head);
    at = have;
    if (r.status != ParseStatus::need_more) return r;
    // A connection may call again with no new byte (another event): same answer.
    r = check_request_line(g_bytes.data(), have, limits, check, g_head);
    if (r.status != ParseStatus::need_more) return r;
  }
  return r;
}

ParseResult line_check(std::string_view s, size_t step = 1) {
  size_t at = 0;
  return line_check(s, step, at);
}

}  // namespace

TEST(request_line_check_refuses_at_the_deciding_byte) {
  struct Case {
    const char* bytes;
    ParseError error;
    size_t decided_at;  // bytes received when the error is known, fed a byte at a time
  };
  const Case cases[] = {
      {"GET /\r\n", ParseError::bad_start_line, 7},       // HTTP/0.9: no version
      {"GET / FOO/1.1\r\n", ParseError::bad_version, 7},  // 'F' cannot start "HTTP/"
      {"GET / HTTP/1.x", ParseError::bad_version, 14},
      {"GET / HTTP/2.0\r\n", ParseError::unsupported_version, 16},  // well formed: at the LF
      {"GET / HTTP/1.1\rX", ParseError::bare_cr, 16},
      {"GET / HTTP/1.1x", ParseError::bad_version, 15},
      {"GET /\n", ParseError::bare_lf, 6},
      {"{\"json\":1}", ParseError::bad_method, 1},
      {"\x16\x03\x01\x02\x00", ParseError::bad_method, 1},  // a TLS ClientHello
      {"GE\x01T", ParseError::bad_method, 3},
      {" GET / HTTP/1.1", ParseError::bad_method, 1},
      {"GET  /", ParseError::bad_target, 5},
      {"GET /a\x7f", ParseError::bad_target, 7},
      {"GET /a#b", ParseError::bad_target, 7},
      {"GET http://u@h/ HTTP/1.1\r\n", ParseError::bad_target, 16},  // target forms: at its end
      {"GET * HTTP/1.1\r\n", ParseError::bad_target, 6},
      {"\r\n\r\n", ParseError::bad_start_line, 4},
      {"\rX", ParseError::bare_cr, 2},
      {"\n", ParseError::bare_lf, 1},
  };
  for (const Case& c : cases) {
    size_t at = 0;
    ParseResult r = line_check(c.bytes, 1, at);
    CHECK(r.status == ParseStatus::error);
    CHECK(r.error == c.error);
    CHECK_EQ(at, c.decided_at);
    // The same verdict as the parser on every byte, and the same whatever the read sizes.
    ParseResult whole = req(c.bytes);
    CHECK(whole.status == ParseStatus::error && whole.error == r.error && whole.error_offset == r.error_offset);
    ParseResult at_once = line_check(c.bytes, 1000);
    CHECK(at_once.status == ParseStatus::error && at_once.error == r.error);
  }
}

TEST(request_line_check_passes_valid_lines_in_any_pieces) {
  const char* heads[] = {
      "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
      "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
      "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
      "GET https://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
      "M-SEARCH!#$%&'*+.^_`|~ /x HTTP/1.0\r\n\r\n",
  };
  for (const char* head : heads) {
    for (size_t step = 1; step <= 7; ++step) {
      ParseResult r = line_check(head, step);
      CHECK(r.status == ParseStatus::need_more);
    }
  }
}

TEST(request_line_check_header_faults_are_the_parsers_business) {
  // Once the line has passed, nothing more is checked: header errors wait for the head.
  std::string s = "GET / HTTP/1.1\r\n";
  g_bytes = s;
  RequestLineCheck check;
  CHECK(check_request_line(g_bytes.data(), g_bytes.size(), {}, check, g_head).status == ParseStatus::need_more);
  CHECK(check.phase == RequestLineCheck::Phase::passed);
  g_bytes += "Bad Header: x\r\n";
  CHECK(check_request_line(g_bytes.data(), g_bytes.size(), {}, check, g_head).status == ParseStatus::need_more);
}

TEST(request_line_check_start_line_limit) {
  HeadLimits limits;
  limits.max_start_line = 16;
  // 16 bytes of line are allowed; the 17th that is not the CR is too long.
  std::string line = "GET /" + std::string(11, 'a');
  size_t at = 0;
  ParseResult r = line_check(line, 1, at, limits);
  CHECK(r.status == ParseStatus::need_more);
  r = line_check(line + "a", 1, at, limits);
  CHECK(r.status == ParseStatus::error);
  CHECK(r.error == ParseError::start_line_too_long);
  CHECK_EQ(r.error_offset, 16u);
  // Counted from after the one empty line allowed before the request line.
  r = line_check("\r\n" + line, 1, at, limits);
  CHECK(r.status == ParseStatus::need_more);
  r = line_check("\r\n" + line + "a", 1, at, limits);
  CHECK(r.error == ParseError::start_line_too_long);
  CHECK_EQ(r.error_offset, 18u);
}

TEST(request_line_check_looks_at_each_byte_once) {
  // A line trickled a byte at a time is walked once: `scanned` only moves forward, and
  // the parser is asked only when the line ends.
  std::string s = "GET /" + std::string(4000, 'a') + " HTTP/1.1\r\n";
  g_bytes = s;
  RequestLineCheck check;
  uint32_t last = 0;
  for (size_t have = 1; have <= g_bytes.size(); ++have) {
    CHECK(check_request_line(g_bytes.data(), have, {}, check, g_head).status == ParseStatus::need_more);
    CHECK(check.scanned >= last);
    last = check.scanned;
    if (have < g_bytes.size()) CHECK(check.phase != RequestLineCheck::Phase::passed);
  }
  CHECK(check.phase == RequestLineCheck::Phase::passed);
}
