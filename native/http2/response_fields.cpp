#include "http2/response_fields.h"

#include <string_view>

namespace lb::http2 {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool is_connection_specific_field(std::string_view name) {
  for (std::string_view forbidden :
       {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}) {
    if (iequals(name, forbidden)) return true;
  }
  return false;
}

void ResponseFields::add(std::string_view name, std::string_view value) {
  const size_t name_at = storage_.size();
  for (char c : name) storage_.push_back(lower(c));
  const size_t value_at = storage_.size();
  storage_.append(value);
  spans_.emplace_back(name_at, value_at);
  sizes_.push_back(name.size());
  sizes_.push_back(value.size());
}

// Pointers are taken once all fields are in, since storage_ may move while it grows.
void ResponseFields::point_fields() {
  fields_.clear();
  fields_.reserve(spans_.size());
  auto* base = reinterpret_cast<uint8_t*>(storage_.data());
  for (size_t i = 0; i < spans_.size(); ++i) {
    fields_.push_back(nghttp2_nv{base + spans_[i].first, base + spans_[i].second, sizes_[2 * i], sizes_[2 * i + 1],
                                 NGHTTP2_NV_FLAG_NONE});
  }
}

bool ResponseFields::build(const http1::MessageHead& head, bool request_was_head) {
  storage_.clear();
  spans_.clear();
  sizes_.clear();
  if (head.status < 100 || head.status > 999 || head.status == 101) return false;
  informational_ = head.status < 200;
  bodiless_ = !informational_ && (request_was_head || head.status == 204 || head.status == 304);
  const std::string status = std::to_string(head.status);
  add(":status", status);
  for (uint32_t i = 0; i < head.header_count; ++i) {
    const http1::HeaderField& field = head.headers[i];
    // hop_by_hop covers the connection-specific fields, everything Connection names, and
    // the framing (Transfer-Encoding, Content-Length), which is re-stated below.
    if (field.hop_by_hop || is_connection_specific_field(field.name)) continue;
    add(field.name, field.value);
  }
  if (!informational_ && head.status != 204) {
    if (head.body == http1::BodyKind::content_length) {
      add("content-length", std::to_string(head.content_length));
    } else if (bodiless_) {
      // HEAD and 304: the length the body would have, if the backend said.
      for (uint32_t i = 0; i < head.header_count; ++i) {
        if (iequals(head.headers[i].name, "content-length")) {
          add("content-length", head.headers[i].value);
          break;
        }
      }
    }
  }
  point_fields();
  return true;
}

void ResponseFields::build_trailers(std::span<const http1::HeaderField> trailers) {
  storage_.clear();
  spans_.clear();
  sizes_.clear();
  informational_ = false;
  bodiless_ = false;
  for (const http1::HeaderField& field : trailers) {
    if (is_connection_specific_field(field.name) || iequals(field.name, "content-length")) continue;
    add(field.name, field.value);
  }
  point_fields();
}

}  // namespace lb::http2
