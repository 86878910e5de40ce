#include "http1/head_writer.h"

#include <charconv>

namespace lb::http1 {

namespace {

// Appends pieces to a buffer, remembering whether everything fitted.
class HeadBuilder {
 public:
  explicit HeadBuilder(buffer::ByteBuffer& out) : out_(out) {}

  HeadBuilder& add(std::string_view text) {
    if (ok_) ok_ = out_.append(text);
    return *this;
  }
  HeadBuilder& add_number(uint64_t value) {
    char digits[24];
    auto result = std::to_chars(digits, digits + sizeof(digits), value);
    return add(std::string_view(digits, static_cast<size_t>(result.ptr - digits)));
  }
  HeadBuilder& add_header(std::string_view name, std::string_view value) {
    return add(name).add(": ").add(value).add("\r\n");
  }
  bool ok() const { return ok_; }

 private:
  buffer::ByteBuffer& out_;
  bool ok_ = true;
};

std::string_view version_text(uint8_t minor) { return minor == 0 ? "HTTP/1.0" : "HTTP/1.1"; }

void add_framing(HeadBuilder& builder, const MessageHead& head) {
  if (head.body == BodyKind::content_length) {
    builder.add("Content-Length: ").add_number(head.content_length).add("\r\n");
  } else if (head.body == BodyKind::chunked) {
    builder.add("Transfer-Encoding: chunked\r\n");
  }
}

}  // namespace

bool split_absolute_form(std::string_view target, std::string_view& authority, std::string_view& path) {
  size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view scheme = target.substr(0, scheme_end);
  if (!equals_ignore_case(scheme, "http") && !equals_ignore_case(scheme, "https")) return false;
  std::string_view rest = target.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?#");
  authority = rest.substr(0, authority_end);
  path = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  return !authority.empty();
}

namespace {

// Case-insensitive, with '_' taken for '-': how CGI-style stacks compare header names.
// `canonical` is lower case, with dashes.
bool same_cgi_name(std::string_view name, std::string_view canonical) {
  if (name.size() != canonical.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i] == '_' ? '-' : name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    if (c != canonical[i]) return false;
  }
  return true;
}

// Every header that claims to describe the client or the original request: all of
// X-Forwarded-* (For, Proto, Host, Port, Server, Prefix, ...), Forwarded and X-Real-IP,
// compared as CGI-style stacks compare names, so that look-alikes are caught too.
bool is_identity_header(std::string_view name) {
  constexpr std::string_view kPrefix = "x-forwarded-";
  return (name.size() > kPrefix.size() && same_cgi_name(name.substr(0, kPrefix.size()), kPrefix)) ||
         same_cgi_name(name, "forwarded") || same_cgi_name(name, "x-real-ip");
}

bool has_underscore(std::string_view name) { return name.find('_') != std::string_view::npos; }

// Values of one header received several times, folded into one comma list.
struct FoldedValues {
  static constexpr int kMax = 8;
  std::string_view values[kMax];
  int count = 0;
  void add(std::string_view value) {
    if (count < kMax) values[count++] = value;
  }
  void write(HeadBuilder& builder) const {
    for (int i = 0; i < count; ++i) builder.add(values[i]).add(", ");
  }
};

}  // namespace

bool refuses_header_names(const MessageHead& head, const HeaderPolicy& policy) {
  if (policy.underscores != HeaderPolicy::Underscores::reject) return false;
  for (uint32_t i = 0; i < head.header_count; ++i) {
    if (has_underscore(head.headers[i].name)) return true;
  }
  return false;
}

bool write_request_head(const MessageHead& head, const RequestHeadOptions& options, buffer::ByteBuffer& out) {
  HeadBuilder builder(out);
  // A proxy forwards origin-form: an absolute-form target becomes its path, and its
  // authority replaces whatever Host the client sent (RFC 9112, section 3.2.2).
  std::string_view authority;
  std::string_view path;
  bool absolute = split_absolute_form(head.target, authority, path);
  builder.add(head.method_text).add(" ");
  if (absolute) {
    if (path.empty() || path.front() != '/') builder.add("/");
    builder.add(path);
  } else {
    builder.add(head.target);
  }
  builder.add(" ").add(version_text(head.version_minor)).add("\r\n");
  std::string_view host = absolute ? authority : head.host;
  if (absolute) builder.add_header("Host", authority);

  using Mode = ForwardedPolicy::Mode;
  const ForwardedPolicy& policy = options.forwarded;
  FoldedValues prior_for;  // X-Forwarded-For or Forwarded, when trusted
  bool kept_proto = false;
  bool kept_host = false;
  for (uint32_t i = 0; i < head.header_count; ++i) {
    const HeaderField& field = head.headers[i];
    if (field.hop_by_hop) continue;
    if (absolute && equals_ignore_case(field.name, "host")) continue;
    if (!options.client_subject_header.empty() && equals_ignore_case(field.name, options.client_subject_header)) {
      continue;  // only the balancer may say who the client certificate names
    }
    const bool identity = policy.mode != Mode::none && is_identity_header(field.name);
    if (has_underscore(field.name)) {
      // An identity header is never spelt with '_': such a name is a forgery meant for
      // CGI-style stacks, whoever sent it, trusted proxy or not.
      if (identity || options.headers.underscores != HeaderPolicy::Underscores::keep) continue;
    }
    if (identity) {
      if (!policy.trust_incoming) continue;  // stripped: the client could have forged it
      if (policy.mode == Mode::x_forwarded && equals_ignore_case(field.name, "x-forwarded-for")) {
        prior_for.add(field.value);
        continue;
      }
      if (policy.mode == Mode::forwarded && equals_ignore_case(field.name, "forwarded")) {
        prior_for.add(field.value);
        continue;
      }
      kept_proto = kept_proto || equals_ignore_case(field.name, "x-forwarded-proto");
      kept_host = kept_host || equals_ignore_case(field.name, "x-forwarded-host");
    }
    builder.add_header(field.name, field.value);
  }
  add_framing(builder, head);
  if (options.upgrade) {
    builder.add("Connection: upgrade\r\n").add_header("Upgrade", head.upgrade);
  } else if (head.version_minor == 0) {
    // Backend connections are pooled: an HTTP/1.0 request must ask to keep the
    // connection (HTTP/1.1 keeps it by default).
    builder.add("Connection: keep-alive\r\n");
  }
  if (!options.client_subject_header.empty() && !options.client_subject.empty()) {
    builder.add_header(options.client_subject_header, options.client_subject);
  }
  if (policy.mode == Mode::x_forwarded) {
    builder.add("X-Forwarded-For: ");
    prior_for.write(builder);
    builder.add(options.client_ip).add("\r\n");
    if (!kept_proto) builder.add_header("X-Forwarded-Proto", options.proto);
    if (!kept_host && !host.empty()) builder.add_header("X-Forwarded-Host", host);
  } else if (policy.mode == Mode::forwarded) {
    builder.add("Forwarded: ");
    prior_for.write(builder);
    // IPv6 addresses and host:port are not tokens, so they are quoted (RFC 7239, 6).
    bool v6 = options.client_ip.find(':') != std::string_view::npos;
    builder.add("for=").add(v6 ? "\"[" : "").add(options.client_ip).add(v6 ? "]\"" : "");
    if (!host.empty()) builder.add(";host=\"").add(host).add("\"");
    builder.add(";proto=").add(options.proto).add("\r\n");
  }
  builder.add("\r\n");
  return builder.ok();
}

bool write_response_head(const MessageHead& head, const ResponseHeadOptions& options, buffer::ByteBuffer& out) {
  HeadBuilder builder(out);
  builder.add(version_text(head.version_minor)).add(" ").add_number(head.status);
  builder.add(" ").add(head.reason).add("\r\n");
  for (uint32_t i = 0; i < head.header_count; ++i) {
    const HeaderField& field = head.headers[i];
    if (field.hop_by_hop) {
      // A HEAD or 304 response's Content-Length describes the representation, not this
      // message's body: pass it on as it was.
      if (head.body == BodyKind::none && equals_ignore_case(field.name, "content-length")) {
        builder.add_header(field.name, field.value);
      }
      continue;
    }
    builder.add_header(field.name, field.value);
  }
  if (!options.omit_framing) add_framing(builder, head);
  builder.add(options.extra_header);
  if (options.upgrade) {
    builder.add("Connection: upgrade\r\n").add_header("Upgrade", head.upgrade);
  } else if (options.close_client) {
    builder.add("Connection: close\r\n");
  } else if (options.client_keep_alive_10) {
    builder.add("Connection: keep-alive\r\n");
  }
  builder.add("\r\n");
  return builder.ok();
}

bool write_redirect(uint16_t status, std::string_view base_url, std::string_view path, bool close_client,
                    bool client_keep_alive_10, buffer::ByteBuffer& out) {
  std::string_view reason = "Temporary Redirect";
  switch (status) {
    case 301: reason = "Moved Permanently"; break;
    case 302: reason = "Found"; break;
    case 303: reason = "See Other"; break;
    case 308: reason = "Permanent Redirect"; break;
    default: break;
  }
  HeadBuilder builder(out);
  builder.add("HTTP/1.1 ").add_number(status).add(" ").add(reason).add("\r\n");
  // The path is the client's own target, already validated by the parser (no control
  // bytes or spaces), and is passed on exactly: percent-encoding untouched.
  builder.add("Location: ").add(base_url);
  if (path.empty() || path.front() != '/') builder.add("/");
  builder.add(path).add("\r\n");
  builder.add("Content-Length: 0\r\n");
  if (close_client) {
    builder.add("Connection: close\r\n");
  } else if (client_keep_alive_10) {
    builder.add("Connection: keep-alive\r\n");
  }
  builder.add("\r\n");
  return builder.ok();
}

}  // namespace lb::http1
