#include "http2/request_translator.h"

#include <charconv>

#include "http1/parser.h"

namespace lb::http2 {

namespace {

bool is_token_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (const char* p = "!#$%&'*+-.^_`|~"; *p; ++p) {
    if (*p == c) return true;
  }
  return false;
}

// A field value byte HTTP/1.1 reads the same way: visible, SP, HTAB or obs-text.
bool is_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

bool is_authority_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (const char* p = "-._~!$&'()*+;=%:[]"; *p; ++p) {
    if (*p == c) return true;
  }
  return false;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool valid_value(std::string_view value) {
  for (char c : value) {
    if (!is_value_char(static_cast<unsigned char>(c))) return false;
  }
  // RFC 9113 §8.2.1: no leading or trailing whitespace (HTTP/1.1 would trim it).
  if (!value.empty()) {
    const char first = value.front();
    const char last = value.back();
    if (first == ' ' || first == '\t' || last == ' ' || last == '\t') return false;
  }
  return true;
}

bool is_connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade";
}

}  // namespace

const char* to_string(RequestError error) {
  switch (error) {
    case RequestError::none: return "none";
    case RequestError::uppercase_name: return "uppercase_name";
    case RequestError::bad_name: return "bad_name";
    case RequestError::bad_value: return "bad_value";
    case RequestError::connection_specific_header: return "connection_specific_header";
    case RequestError::te_not_trailers: return "te_not_trailers";
    case RequestError::pseudo_after_regular: return "pseudo_after_regular";
    case RequestError::unknown_pseudo: return "unknown_pseudo";
    case RequestError::repeated_pseudo: return "repeated_pseudo";
    case RequestError::missing_pseudo: return "missing_pseudo";
    case RequestError::bad_method: return "bad_method";
    case RequestError::bad_scheme: return "bad_scheme";
    case RequestError::bad_path: return "bad_path";
    case RequestError::bad_authority: return "bad_authority";
    case RequestError::host_differs_from_authority: return "host_differs_from_authority";
    case RequestError::bad_content_length: return "bad_content_length";
    case RequestError::content_length_without_body: return "content_length_without_body";
    case RequestError::not_http1_expressible: return "not_http1_expressible";
    case RequestError::header_list_too_large: return "header_list_too_large";
    case RequestError::too_many_fields: return "too_many_fields";
    case RequestError::connect_not_supported: return "connect_not_supported";
  }
  return "unknown";
}

uint16_t status_for(RequestError error) {
  switch (error) {
    case RequestError::header_list_too_large:
    case RequestError::too_many_fields: return 431;
    case RequestError::connect_not_supported: return 501;
    default: return 0;
  }
}

bool RequestTranslator::fail(RequestError error) {
  error_ = error;
  return false;
}

bool RequestTranslator::add(std::string_view name, std::string_view value) {
  if (error_ != RequestError::none) return false;
  if (++field_count_ > limits_->max_header_fields) return fail(RequestError::too_many_fields);
  list_bytes_ += name.size() + value.size() + 32;
  if (list_bytes_ > limits_->max_header_list_bytes) return fail(RequestError::header_list_too_large);
  if (name.empty()) return fail(RequestError::bad_name);
  if (name[0] == ':') {
    if (seen_regular_) return fail(RequestError::pseudo_after_regular);
    return add_pseudo(name, value);
  }
  seen_regular_ = true;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 'A' && u <= 'Z') return fail(RequestError::uppercase_name);
    if (!is_token_char(u)) return fail(RequestError::bad_name);
  }
  if (!valid_value(value)) return fail(RequestError::bad_value);
  if (is_connection_specific(name)) return fail(RequestError::connection_specific_header);
  if (name == "te") {
    // Allowed only as "trailers"; hop-by-hop, so the backend leg does not carry it.
    return equals_ignoring_case(value, "trailers") ? true : fail(RequestError::te_not_trailers);
  }
  if (name == "host") {
    if (seen_host_) return fail(RequestError::bad_authority);
    seen_host_ = true;
    host_.assign(value);
    return true;
  }
  if (name == "content-length") {
    uint64_t length = 0;
    const char* end = value.data() + value.size();
    if (value.empty() || value.size() > 19 || value[0] == '+') return fail(RequestError::bad_content_length);
    auto [ptr, ec] = std::from_chars(value.data(), end, length);
    if (ec != std::errc() || ptr != end) return fail(RequestError::bad_content_length);
    if (has_content_length_ && length != content_length_) return fail(RequestError::bad_content_length);
    has_content_length_ = true;
    content_length_ = length;
    return true;
  }
  if (name == "cookie") {
    if (value.empty()) return true;  // an empty crumb adds nothing to the joined field
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return true;
  }
  fields_.append(name).append(": ").append(value).append("\r\n");
  return true;
}

bool RequestTranslator::add_pseudo(std::string_view name, std::string_view value) {
  if (!valid_value(value)) return fail(RequestError::bad_value);
  if (name == ":method") {
    if (!method_.empty()) return fail(RequestError::repeated_pseudo);
    if (value.empty()) return fail(RequestError::bad_method);
    for (char c : value) {
      if (!is_token_char(static_cast<unsigned char>(c))) return fail(RequestError::bad_method);
    }
    method_.assign(value);
    return true;
  }
  if (name == ":scheme") {
    if (seen_scheme_) return fail(RequestError::repeated_pseudo);
    seen_scheme_ = true;
    if (!equals_ignoring_case(value, "http") && !equals_ignoring_case(value, "https")) {
      return fail(RequestError::bad_scheme);
    }
    return true;
  }
  if (name == ":path") {
    if (!path_.empty()) return fail(RequestError::repeated_pseudo);
    if (value.empty() || (value[0] != '/' && value != "*")) return fail(RequestError::bad_path);
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7f || u == '#') return fail(RequestError::bad_path);
    }
    path_.assign(value);
    return true;
  }
  if (name == ":authority") {
    if (seen_authority_) return fail(RequestError::repeated_pseudo);
    seen_authority_ = true;
    if (value.empty()) return fail(RequestError::bad_authority);
    for (char c : value) {
      if (!is_authority_char(static_cast<unsigned char>(c))) return fail(RequestError::bad_authority);
    }
    authority_.assign(value);
    return true;
  }
  return fail(RequestError::unknown_pseudo);
}

bool RequestTranslator::finish(bool end_stream, RequestHead& out) {
  if (error_ != RequestError::none) return false;
  if (method_.empty()) return fail(RequestError::missing_pseudo);
  if (method_ == "CONNECT") return fail(RequestError::connect_not_supported);
  if (!seen_scheme_ || path_.empty()) return fail(RequestError::missing_pseudo);
  if (path_ == "*" && method_ != "OPTIONS") return fail(RequestError::bad_path);
  if (!seen_authority_ && !seen_host_) return fail(RequestError::missing_pseudo);
  if (seen_authority_ && seen_host_ && !equals_ignoring_case(authority_, host_)) {
    return fail(RequestError::host_differs_from_authority);
  }
  if (end_stream && has_content_length_ && content_length_ != 0) {
    return fail(RequestError::content_length_without_body);
  }
  const std::string& host = seen_authority_ ? authority_ : host_;

  out = RequestHead{};
  out.http1.reserve(method_.size() + path_.size() + host.size() + fields_.size() + cookie_.size() + 96);
  out.http1.append(method_).append(" ").append(path_).append(" HTTP/1.1\r\nhost: ").append(host).append("\r\n");
  out.target_offset = method_.size() + 1;
  out.target_length = path_.size();
  out.http1.append(fields_);
  if (!cookie_.empty()) out.http1.append("cookie: ").append(cookie_).append("\r\n");
  out.has_body = !end_stream;
  out.has_content_length = has_content_length_;
  out.content_length = content_length_;
  if (has_content_length_) {
    out.http1.append("content-length: ").append(std::to_string(content_length_)).append("\r\n");
  } else if (!end_stream) {
    out.http1.append("transfer-encoding: chunked\r\n");
    out.chunked_body = true;
  }
  out.http1.append("\r\n");
  out.is_head = method_ == "HEAD";

  // The last word is the HTTP/1.1 parser's: one request, read back as written.
  http1::HeadLimits limits;
  limits.max_start_line = static_cast<uint32_t>(out.http1.size());
  limits.max_head_bytes = static_cast<uint32_t>(out.http1.size());
  limits.max_header_count = http1::kMaxHeaderFields;
  http1::MessageHead parsed;
  const http1::ParseResult result = http1::parse_request_head(out.http1.data(), out.http1.size(), limits, parsed);
  if (result.status != http1::ParseStatus::done || result.consumed != out.http1.size() ||
      parsed.method_text != method_ || parsed.target != path_ || !equals_ignoring_case(parsed.host, host)) {
    out = RequestHead{};
    return fail(RequestError::not_http1_expressible);
  }
  return true;
}

}  // namespace lb::http2
