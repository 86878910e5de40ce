#include "tests/http2_test_support.h"

#include <algorithm>
#include <cstring>

namespace lb::http2_testing {

void RecordingOwner::on_request_head(int32_t id, const http2::RequestHead& head) {
  OwnerStream& s = streams[id];
  s.head = head.http1;
  s.request = head;
}

void RecordingOwner::on_request_data(int32_t id, std::span<const uint8_t> bytes) {
  streams[id].body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  unconsumed += bytes.size();
  max_unconsumed = std::max(max_unconsumed, unconsumed);
  if (consume_at_once && !held.contains(id)) consume(id, bytes.size());
}

void RecordingOwner::on_request_end(int32_t id, std::string_view trailers) {
  streams[id].ended = true;
  streams[id].trailers = std::string(trailers);
}

void RecordingOwner::on_stream_closed(int32_t id, bool completed, uint32_t error_code) {
  OwnerStream& s = streams[id];
  s.closed = true;
  s.completed = completed;
  s.error_code = error_code;
}

void RecordingOwner::on_response_writable(int32_t id) { ++streams[id].writable_calls; }

void RecordingOwner::consume(int32_t id, size_t bytes) {
  bytes = std::min(bytes, unconsumed);
  unconsumed -= bytes;
  if (session) session->consume_request_body(id, bytes);
}

namespace {

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

TestClient& client_of(void* user) { return *static_cast<TestClient*>(user); }

int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t name_len, const uint8_t* value,
              size_t value_len, uint8_t, void* user) {
  ClientStream& s = client_of(user).streams[frame->hd.stream_id];
  std::string n(reinterpret_cast<const char*>(name), name_len);
  std::string v(reinterpret_cast<const char*>(value), value_len);
  if (n == ":status") {
    const int status = std::stoi(v);
    if (status < 200) {
      s.informational.push_back(status);
    } else {
      s.status = status;
    }
    return 0;
  }
  if (frame->headers.cat == NGHTTP2_HCAT_HEADERS && s.status != 0) {
    s.trailers.emplace_back(std::move(n), std::move(v));
  } else {
    s.headers.emplace_back(std::move(n), std::move(v));
  }
  return 0;
}

int on_data(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user) {
  TestClient& client = client_of(user);
  client.streams[id].body.append(reinterpret_cast<const char*>(data), len);
  if (client.consume_at_once) nghttp2_session_consume(session, id, len);
  return 0;
}

int on_close(nghttp2_session*, int32_t id, uint32_t error_code, void* user) {
  ClientStream& s = client_of(user).streams[id];
  s.closed = true;
  s.error_code = error_code;
  return 0;
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  TestClient& client = client_of(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    client.goaway_received = true;
    client.goaway_last_stream_id = frame->goaway.last_stream_id;
    client.goaway_error_code = frame->goaway.error_code;
  }
  return 0;
}

ssize_t read_upload(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                    nghttp2_data_source*, void* user) {
  TestClient::Upload& upload = client_of(user).uploads[id];
  const size_t n = std::min(length, upload.body.size() - upload.offset);
  std::memcpy(buf, upload.body.data() + upload.offset, n);
  upload.offset += n;
  if (upload.offset == upload.body.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!upload.trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      std::vector<nghttp2_nv> nva;
      for (auto& [name, value] : upload.trailers) nva.push_back(make_nv(name, value));
      nghttp2_submit_trailer(session, id, nva.data(), nva.size());
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace

TestClient::TestClient() {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  http2::CallbacksPtr owned(callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_close);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame_recv);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  http2::OptionPtr owned_option(option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_session* session = nullptr;
  nghttp2_session_client_new2(&session, callbacks, this, option);
  session_.reset(session);
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
}

int32_t TestClient::request(const Fields& fields, std::string body, const Fields& trailers) {
  std::vector<nghttp2_nv> nva;
  for (auto& [name, value] : fields) nva.push_back(make_nv(name, value));
  if (body.empty() && trailers.empty()) {
    return nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(), nullptr, nullptr);
  }
  nghttp2_data_provider provider;
  provider.source.ptr = nullptr;
  provider.read_callback = &read_upload;
  const int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(), &provider, nullptr);
  uploads[id] = Upload{std::move(body), 0, trailers};
  return id;
}

Fields get(std::string path) {
  return {{":method", "GET"}, {":scheme", "https"}, {":authority", "example.test"}, {":path", std::move(path)}};
}

bool pump(TestClient& client, http2::H2ServerSession& server, uint64_t now_ms) {
  for (int round = 0; round < 10000; ++round) {
    bool progress = false;
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(client.session(), &data);
      if (n <= 0) break;
      progress = true;
      if (server.feed({data, static_cast<size_t>(n)}, now_ms) != http2::FeedResult::ok) {
        std::string rest = drain(server);
        nghttp2_session_mem_recv(client.session(), reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
        return false;
      }
    }
    for (;;) {
      std::span<const uint8_t> out = server.pending_output();
      if (out.empty()) break;
      progress = true;
      const ssize_t n = nghttp2_session_mem_recv(client.session(), out.data(), out.size());
      if (n < 0) return false;
      server.output_sent(out.size());
    }
    if (!progress) return true;
  }
  return true;
}

std::string drain(http2::H2ServerSession& server) {
  std::string out;
  for (;;) {
    std::span<const uint8_t> bytes = server.pending_output();
    if (bytes.empty()) return out;
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    server.output_sent(bytes.size());
  }
}

std::string preface() { return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); }

std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload) {
  std::string out;
  const size_t len = payload.size();
  out.push_back(static_cast<char>((len >> 16) & 0xff));
  out.push_back(static_cast<char>((len >> 8) & 0xff));
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>((stream_id >> 24) & 0x7f));
  out.push_back(static_cast<char>((stream_id >> 16) & 0xff));
  out.push_back(static_cast<char>((stream_id >> 8) & 0xff));
  out.push_back(static_cast<char>(stream_id & 0xff));
  out.append(payload);
  return out;
}

std::string settings_frame(const std::vector<std::pair<uint16_t, uint32_t>>& entries) {
  std::string payload;
  for (auto [id, value] : entries) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id & 0xff));
    for (int shift = 24; shift >= 0; shift -= 8) payload.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  return frame(0x4, 0, 0, payload);
}

namespace {

// An HPACK integer with an N-bit prefix (RFC 7541 §5.1), first byte's high bits 0.
void hpack_integer(std::string& out, size_t value, int prefix_bits) {
  const size_t max_prefix = (size_t{1} << prefix_bits) - 1;
  if (value < max_prefix) {
    out.push_back(static_cast<char>(value));
    return;
  }
  out.push_back(static_cast<char>(max_prefix));
  value -= max_prefix;
  while (value >= 128) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

}  // namespace

std::string literal_block(const Fields& fields) {
  std::string out;
  for (auto& [name, value] : fields) {
    out.push_back(0x00);  // literal without indexing, new name
    hpack_integer(out, name.size(), 7);
    out.append(name);
    hpack_integer(out, value.size(), 7);
    out.append(value);
  }
  return out;
}

std::vector<SeenFrame> parse_frames(std::string_view bytes) {
  std::vector<SeenFrame> frames;
  size_t pos = 0;
  while (bytes.size() - pos >= 9) {
    const auto b = [&](size_t i) { return static_cast<uint8_t>(bytes[pos + i]); };
    const size_t len = (size_t{b(0)} << 16) | (size_t{b(1)} << 8) | b(2);
    if (bytes.size() - pos - 9 < len) break;
    SeenFrame f{b(3), b(4), ((uint32_t{b(5)} & 0x7f) << 24) | (uint32_t{b(6)} << 16) | (uint32_t{b(7)} << 8) | b(8),
                std::string(bytes.substr(pos + 9, len))};
    frames.push_back(std::move(f));
    pos += 9 + len;
  }
  return frames;
}

HeaderDecoder::HeaderDecoder() { nghttp2_hd_inflate_new(&inflater_); }
HeaderDecoder::~HeaderDecoder() { nghttp2_hd_inflate_del(inflater_); }

Fields HeaderDecoder::decode(std::string_view block) {
  Fields fields;
  auto* in = reinterpret_cast<const uint8_t*>(block.data());
  size_t left = block.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t n = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
    if (n < 0) return fields;
    in += n;
    left -= static_cast<size_t>(n);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      fields.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                          std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater_);
      return fields;
    }
    if (n == 0 && left == 0) return fields;
  }
}

int64_t goaway_error(const std::vector<SeenFrame>& frames) {
  for (const SeenFrame& f : frames) {
    if (f.type == 0x7 && f.payload.size() >= 8) {
      const auto b = [&](size_t i) { return static_cast<uint8_t>(f.payload[i]); };
      return (int64_t{b(4)} << 24) | (int64_t{b(5)} << 16) | (int64_t{b(6)} << 8) | b(7);
    }
  }
  return -1;
}

}  // namespace lb::http2_testing
