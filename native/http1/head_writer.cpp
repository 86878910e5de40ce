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

bool write_request_head(const MessageHead& head, const RequestHeadOptions& options,
                        buffer::ByteBuffer& out) {
  HeadBuilder builder(out);
  builder.add(head.method_text).add(" ").add(head.target).add(" ").add(version_text(head.version_minor)).add("\r\n");

  std::string_view prior_forwarded_for;
  for (uint32_t i = 0; i < head.header_count; ++i) {
    const HeaderField& field = head.headers[i];
    if (field.hop_by_hop) continue;
    if (options.x_forwarded_for && equals_ignore_case(field.name, "x-forwarded-for")) {
      // Folded into one header below, with the client appended.
      if (prior_forwarded_for.empty()) prior_forwarded_for = field.value;
      continue;
    }
    builder.add_header(field.name, field.value);
  }
  add_framing(builder, head);
  // Backend connections are pooled: an HTTP/1.0 request must ask to keep the connection
  // (HTTP/1.1 keeps it by default).
  if (head.version_minor == 0) builder.add("Connection: keep-alive\r\n");
  if (options.x_forwarded_for && !options.client_ip.empty()) {
    builder.add("X-Forwarded-For: ");
    if (!prior_forwarded_for.empty()) builder.add(prior_forwarded_for).add(", ");
    builder.add(options.client_ip).add("\r\n");
  }
  builder.add("\r\n");
  return builder.ok();
}

bool write_response_head(const MessageHead& head, const ResponseHeadOptions& options,
                         buffer::ByteBuffer& out) {
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
  add_framing(builder, head);
  if (options.close_client) {
    builder.add("Connection: close\r\n");
  } else if (options.client_keep_alive_10) {
    builder.add("Connection: keep-alive\r\n");
  }
  builder.add("\r\n");
  return builder.ok();
}

}  // namespace lb::http1
