#include "http2/h2_server_session.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "http2/response_fields.h"

namespace lb::http2 {

struct H2ServerSession::Stream {
  Stream(int32_t stream_id, const SessionLimits& limits) : id(stream_id), translator(limits) {}

  int32_t id;
  RequestTranslator translator;
  // Request side.
  bool delivered = false;  // the owner has it (on_request_head was called)
  bool refused = false;    // we refused it (malformed, 431, 501); the owner never heard of it
  bool request_ended = false;
  bool in_trailers = false;
  bool trailers_bad = false;
  std::string trailer_lines;
  uint64_t trailer_bytes = 0;
  bool has_content_length = false;
  uint64_t content_length = 0;
  uint64_t body_received = 0;
  bool is_head = false;
  // Response side.
  bool final_sent = false;
  bool bodiless = false;
  bool body_ended = false;
  bool response_complete = false;  // END_STREAM went out
  bool deferred = false;           // nghttp2 waits for body bytes (resume on the next ones)
  bool wants_room = false;         // the owner waits for on_response_writable
  bool closed_notified = false;
  uint64_t last_progress_ms = 0;  // response bytes last went out (or were first queued)
  std::string queue;
  size_t queue_offset = 0;
  ResponseFields trailers;
  bool has_trailers = false;

  size_t queued() const { return queue.size() - queue_offset; }
};

const char* to_string(Defence defence) {
  switch (defence) {
    case Defence::none: return "none";
    case Defence::not_http2_preface: return "not_http2_preface";
    case Defence::rapid_reset: return "rapid_reset";
    case Defence::continuation_flood: return "continuation_flood";
    case Defence::header_block_too_large: return "header_block_too_large";
    case Defence::settings_flood: return "settings_flood";
    case Defence::ping_flood: return "ping_flood";
    case Defence::priority_flood: return "priority_flood";
    case Defence::empty_data_flood: return "empty_data_flood";
    case Defence::window_update_flood: return "window_update_flood";
    case Defence::memory_budget: return "memory_budget";
    case Defence::library_flood: return "library_flood";
  }
  return "unknown";
}

namespace {

bool valid_trailer_field(std::string_view name, std::string_view value) {
  if (name.empty() || name[0] == ':') return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    const bool token = (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || std::strchr("!#$%&'*+-.^_`|~", c);
    if (!token || c == '\0') return false;
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  if (!value.empty() &&
      (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' || value.back() == '\t')) {
    return false;
  }
  // Framing and routing have no business in trailers (RFC 9110 §6.5.1).
  return !is_connection_specific_field(name) && name != "content-length" && name != "host";
}

}  // namespace

// nghttp2's callbacks, each forwarding to the session in user_data.
struct Callbacks {
  static H2ServerSession& self(void* user) { return *static_cast<H2ServerSession*>(user); }

  static int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    H2ServerSession& s = self(user);
    // Once the connection is ending, requests still in the same read are not started.
    if (frame->hd.type != NGHTTP2_HEADERS || s.ended_by_ != Defence::none) return 0;
    const int32_t id = frame->hd.stream_id;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      auto stream = std::make_unique<H2ServerSession::Stream>(id, s.limits_);
      nghttp2_session_set_stream_user_data(session, id, stream.get());
      s.streams_[id] = std::move(stream);
    } else if (H2ServerSession::Stream* stream = s.find(id)) {
      stream->in_trailers = true;
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t name_len,
                       const uint8_t* value, size_t value_len, uint8_t, void* user) {
    H2ServerSession& s = self(user);
    H2ServerSession::Stream* stream = s.find(frame->hd.stream_id);
    if (!stream || frame->hd.type != NGHTTP2_HEADERS) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), name_len);
    const std::string_view v(reinterpret_cast<const char*>(value), value_len);
    if (!stream->in_trailers) {
      // A refusal is remembered and acted on at the end of the block (HPACK must still decode it).
      stream->translator.add(n, v);
      return 0;
    }
    stream->trailer_bytes += name_len + value_len + 32;
    if (stream->trailers_bad || stream->trailer_bytes > s.limits_.max_header_list_bytes || !valid_trailer_field(n, v)) {
      stream->trailers_bad = true;
      return 0;
    }
    stream->trailer_lines.append(n).append(": ").append(v).append("\r\n");
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2ServerSession& s = self(user);
    const int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        H2ServerSession::Stream* stream = s.find(id);
        if (!stream || stream->refused || stream->closed_notified) return 0;
        const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (!stream->in_trailers) {
          RequestHead head;
          if (!stream->translator.finish(end_stream, head)) {
            s.refuse_stream(*stream);
            return 0;
          }
          stream->delivered = true;
          stream->has_content_length = head.has_content_length;
          stream->content_length = head.content_length;
          stream->is_head = head.is_head;
          stream->request_ended = end_stream;
          s.owner_.on_request_head(id, head);
          if (end_stream) {
            H2ServerSession::Stream* again = s.find(id);  // the owner may have reset it meanwhile
            if (again && !again->closed_notified) s.owner_.on_request_end(id, {});
          }
          return 0;
        }
        if (!stream->delivered || stream->request_ended || stream->closed_notified) return 0;
        if (stream->trailers_bad || (stream->has_content_length && stream->body_received != stream->content_length)) {
          s.refuse_stream(*stream);
          return 0;
        }
        stream->request_ended = true;
        s.owner_.on_request_end(id, stream->trailer_lines);
        return 0;
      }
      case NGHTTP2_DATA: {
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
        H2ServerSession::Stream* stream = s.find(id);
        if (!stream || !stream->delivered || stream->refused || stream->request_ended || stream->closed_notified) {
          return 0;
        }
        if (stream->has_content_length && stream->body_received != stream->content_length) {
          s.refuse_stream(*stream);
          return 0;
        }
        stream->request_ended = true;
        s.owner_.on_request_end(id, {});
        return 0;
      }
      case NGHTTP2_RST_STREAM:
        ++s.counters_.streams_reset_by_client;
        s.charge_reset();
        return 0;
      default: return 0;
    }
  }

  static int on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data, size_t len,
                                void* user) {
    H2ServerSession& s = self(user);
    // Connection credit goes back at once (the stream windows bound memory), so a stalled
    // stream never holds back the others.
    nghttp2_session_consume_connection(session, len);
    H2ServerSession::Stream* stream = s.find(id);
    if (!stream || !stream->delivered || stream->refused || stream->request_ended || stream->closed_notified) {
      nghttp2_session_consume_stream(session, id, len);
      return 0;
    }
    stream->body_received += len;
    if (stream->has_content_length && stream->body_received > stream->content_length) {
      nghttp2_session_consume_stream(session, id, len);
      s.refuse_stream(*stream);
      return 0;
    }
    s.owner_.on_request_data(id, {data, len});
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t error_code, void* user) {
    H2ServerSession& s = self(user);
    auto it = s.streams_.find(id);
    if (it == s.streams_.end()) return 0;
    std::unique_ptr<H2ServerSession::Stream> stream = std::move(it->second);
    s.streams_.erase(it);
    s.queued_response_bytes_ -= stream->queued();
    if (stream->delivered && !stream->closed_notified) {
      s.owner_.on_stream_closed(id, stream->response_complete && error_code == NGHTTP2_NO_ERROR, error_code);
    }
    return 0;
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    H2ServerSession& s = self(user);
    if (frame->hd.type == NGHTTP2_DATA) {
      s.gate_.data_frame_sent();
      if (H2ServerSession::Stream* stream = s.find(frame->hd.stream_id)) stream->last_progress_ms = s.now_ms_;
    }
    if (frame->hd.type == NGHTTP2_RST_STREAM && frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM) {
      ++s.counters_.refused_streams;
    }
    // nghttp2's own RFC 9113 §8 checks (content-length against DATA among them) reset
    // streams without telling us why; count them like ours, when they go out.
    if (frame->hd.type == NGHTTP2_RST_STREAM && frame->rst_stream.error_code == NGHTTP2_PROTOCOL_ERROR) {
      H2ServerSession::Stream* stream = s.find(frame->hd.stream_id);
      if (!stream || !stream->refused) {
        ++s.counters_.malformed_requests;
        s.charge_reset();
      }
    }
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      if (H2ServerSession::Stream* stream = s.find(frame->hd.stream_id)) {
        stream->response_complete = true;
        // The whole response is out but the client is still sending its request (a final
        // answer instead of 100 Continue, a 413, a 431): RFC 9113 §8.1 lets us tell it to
        // stop without error, so the stream does not hold a concurrent-stream slot for as
        // long as the client cares to keep its request open.
        if (nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
          nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
        }
      }
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length, uint32_t* data_flags,
                           nghttp2_data_source* source, void* user) {
    H2ServerSession& s = self(user);
    auto* stream = static_cast<H2ServerSession::Stream*>(source->ptr);
    const size_t n = std::min(stream->queued(), length);
    if (n > 0) {
      std::memcpy(buf, stream->queue.data() + stream->queue_offset, n);
      stream->queue_offset += n;
      s.queued_response_bytes_ -= n;
      if (stream->queue_offset == stream->queue.size()) {
        stream->queue.clear();
        stream->queue_offset = 0;
      }
      if (stream->wants_room && stream->queued() <= s.limits_.max_queued_response_bytes / 2) s.writable_pending_ = true;
    }
    if (stream->queued() == 0 && stream->body_ended) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (stream->has_trailers) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_submit_trailer(session, id, stream->trailers.data(), stream->trailers.size());
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      stream->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  }
};

H2ServerSession::H2ServerSession(SessionOwner& owner, const SessionLimits& limits, uint64_t now_ms)
    : owner_(owner),
      limits_(limits),
      memory_(limits.library_memory_budget),
      gate_(limits_, now_ms),
      resets_(limits.stream_resets, now_ms),
      now_ms_(now_ms) {
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  nghttp2_option* raw_option = nullptr;
  if (nghttp2_session_callbacks_new(&raw_callbacks) != 0 || nghttp2_option_new(&raw_option) != 0) {
    nghttp2_session_callbacks_del(raw_callbacks);
    broken_ = true;
    return;
  }
  CallbacksPtr callbacks(raw_callbacks);
  OptionPtr option(raw_option);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks.get(), &Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks.get(), &Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks.get(), &Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks.get(), &Callbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks.get(), &Callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks.get(), &Callbacks::on_frame_send);

  // Flow-control credit is ours to return (consume_request_body), not nghttp2's.
  nghttp2_option_set_no_auto_window_update(option.get(), 1);
  nghttp2_option_set_max_settings(option.get(), limits_.max_settings_entries);
  nghttp2_option_set_max_outbound_ack(option.get(), limits_.max_outbound_acks);
  nghttp2_option_set_max_deflate_dynamic_table_size(option.get(), 4096);
  // Not nghttp2_option_set_stream_reset_rate_limit: it is newer than nghttp2 1.52 (node
  // before 20.8.1 does not export it, so the addon would not load there). Our reset budget
  // decides; nghttp2's default bucket (1000, 33/s on the real clock) stays a backstop
  // where the library has one.

  nghttp2_session* raw_session = nullptr;
  if (nghttp2_session_server_new3(&raw_session, callbacks.get(), this, option.get(), memory_.allocator()) != 0) {
    broken_ = true;
    return;
  }
  session_.reset(raw_session);
}

H2ServerSession::~H2ServerSession() = default;

bool H2ServerSession::start() {
  if (broken_) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_bytes},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  if (nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0 ||
      nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0,
                                            static_cast<int32_t>(limits_.connection_window)) != 0) {
    broken_ = true;
    return false;
  }
  return true;
}

H2ServerSession::Stream* H2ServerSession::find(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

FeedResult H2ServerSession::feed(std::span<const uint8_t> bytes, uint64_t now_ms) {
  now_ms_ = now_ms;
  if (broken_ || ended_by_ != Defence::none) return FeedResult::closing;
  const FrameGate::Verdict verdict = gate_.inspect(bytes.data(), bytes.size(), now_ms);
  if (verdict.refused == Defence::not_http2_preface) {
    looks_like_http1_ = verdict.looks_like_http1;
    ended_by_ = Defence::not_http2_preface;
    ++counters_.connections_ended[static_cast<uint8_t>(Defence::not_http2_preface)];
    broken_ = true;
    return FeedResult::not_http2;
  }
  if (verdict.passed > 0) {
    const ssize_t rv = nghttp2_session_mem_recv(session_.get(), bytes.data(), verdict.passed);
    if (rv < 0) {
      if (rv == NGHTTP2_ERR_NOMEM || memory_.refused_any()) {
        end_connection(Defence::memory_budget, NGHTTP2_ENHANCE_YOUR_CALM);
      } else if (rv == NGHTTP2_ERR_FLOODED) {
        end_connection(Defence::library_flood, NGHTTP2_ENHANCE_YOUR_CALM);
      }
      // Any error from mem_recv leaves the session unusable: nothing more goes out.
      broken_ = true;
      close_all_streams(NGHTTP2_INTERNAL_ERROR);
      return FeedResult::closing;
    }
  }
  if (verdict.refused != Defence::none) end_connection(verdict.refused, NGHTTP2_ENHANCE_YOUR_CALM);
  if (ended_by_ != Defence::none || finished()) return FeedResult::closing;
  return FeedResult::ok;
}

std::span<const uint8_t> H2ServerSession::pending_output() {
  if (broken_) return {};
  if (output_offset_ < output_size_) return {output_ + output_offset_, output_size_ - output_offset_};
  const uint8_t* data = nullptr;
  const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
  if (n < 0) {
    if (ended_by_ == Defence::none) {
      ended_by_ = Defence::memory_budget;
      ++counters_.connections_ended[static_cast<uint8_t>(Defence::memory_budget)];
    }
    broken_ = true;
    close_all_streams(NGHTTP2_INTERNAL_ERROR);
    return {};
  }
  output_ = data;
  output_size_ = static_cast<size_t>(n);
  output_offset_ = 0;
  if (n > 0) idle_memory_released_ = false;
  if (writable_pending_) notify_writable();
  return {output_, output_size_};
}

void H2ServerSession::output_sent(size_t bytes) { output_offset_ = std::min(output_size_, output_offset_ + bytes); }

size_t H2ServerSession::release_idle_memory() {
  // With output pending, or a frame nghttp2 has not finished with, the buffer is in use.
  if (broken_ || idle_memory_released_ || !streams_.empty() || output_offset_ < output_size_ ||
      nghttp2_session_want_write(session_.get()) != 0) {
    return 0;
  }
  idle_memory_released_ = true;
  return memory_.discard_large_blocks();
}

void H2ServerSession::consume_request_body(int32_t stream_id, size_t bytes) {
  if (broken_ || bytes == 0) return;
  nghttp2_session_consume_stream(session_.get(), stream_id, bytes);
}

bool H2ServerSession::submit_response_head(int32_t stream_id, const http1::MessageHead& head) {
  Stream* stream = find(stream_id);
  if (broken_ || !stream || !stream->delivered || stream->final_sent || stream->closed_notified) return false;
  ResponseFields fields;
  if (!fields.build(head, stream->is_head)) return false;
  if (fields.informational()) {
    return nghttp2_submit_headers(session_.get(), NGHTTP2_FLAG_NONE, stream_id, nullptr, fields.data(), fields.size(),
                                  nullptr) >= 0;
  }
  stream->final_sent = true;
  stream->bodiless = fields.bodiless();
  if (stream->bodiless) {
    stream->body_ended = true;
    return nghttp2_submit_response(session_.get(), stream_id, fields.data(), fields.size(), nullptr) == 0;
  }
  nghttp2_data_provider provider;
  provider.source.ptr = stream;
  provider.read_callback = &Callbacks::read_body;
  return nghttp2_submit_response(session_.get(), stream_id, fields.data(), fields.size(), &provider) == 0;
}

size_t H2ServerSession::send_response_body(int32_t stream_id, std::span<const uint8_t> bytes) {
  Stream* stream = find(stream_id);
  if (broken_ || !stream || !stream->final_sent || stream->closed_notified) return 0;
  if (stream->bodiless) return bytes.size();  // HEAD, 204, 304: the body is not sent
  if (stream->body_ended) return 0;
  const size_t room =
      limits_.max_queued_response_bytes - std::min<size_t>(limits_.max_queued_response_bytes, stream->queued());
  const size_t n = std::min(room, bytes.size());
  if (n < bytes.size()) stream->wants_room = true;
  if (n == 0) return 0;
  if (stream->queued() == 0) stream->last_progress_ms = now_ms_;  // the stall clock starts with bytes to send
  if (stream->queue_offset > 0 && stream->queue_offset >= stream->queue.size() / 2) {
    stream->queue.erase(0, stream->queue_offset);
    stream->queue_offset = 0;
  }
  stream->queue.append(reinterpret_cast<const char*>(bytes.data()), n);
  queued_response_bytes_ += n;
  if (stream->deferred) {
    stream->deferred = false;
    nghttp2_session_resume_data(session_.get(), stream_id);
  }
  return n;
}

bool H2ServerSession::end_response(int32_t stream_id, std::span<const http1::HeaderField> trailers) {
  Stream* stream = find(stream_id);
  if (broken_ || !stream || !stream->final_sent || stream->closed_notified) return false;
  if (stream->bodiless) return true;
  if (stream->body_ended) return false;
  stream->body_ended = true;
  if (!trailers.empty()) {
    stream->trailers.build_trailers(trailers);
    stream->has_trailers = stream->trailers.size() > 0;
  }
  if (stream->deferred) {
    stream->deferred = false;
    nghttp2_session_resume_data(session_.get(), stream_id);
  }
  return true;
}

void H2ServerSession::reset_stream(int32_t stream_id, uint32_t error_code) {
  if (broken_ || !find(stream_id)) return;
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream_id, error_code);
}

void H2ServerSession::stop_gracefully() {
  if (broken_ || ended_by_ != Defence::none) return;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_.get()),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

size_t H2ServerSession::reset_stalled_streams(uint64_t now_ms) {
  now_ms_ = now_ms;
  if (broken_ || limits_.stall_timeout_ms == 0) return 0;
  const bool connection_blocked = nghttp2_session_get_remote_window_size(session_.get()) <= 0;
  std::vector<int32_t> stalled;
  for (auto& [id, stream] : streams_) {
    if (stream->queued() == 0 || stream->closed_notified) continue;
    const bool blocked = connection_blocked || nghttp2_session_get_stream_remote_window_size(session_.get(), id) <= 0;
    if (blocked && now_ms - stream->last_progress_ms >= limits_.stall_timeout_ms) stalled.push_back(id);
  }
  for (int32_t id : stalled) {
    ++counters_.stalled_streams_reset;
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
  return stalled.size();
}

bool H2ServerSession::finished() const {
  if (broken_) return true;
  if (output_offset_ < output_size_) return false;
  return nghttp2_session_want_read(session_.get()) == 0 && nghttp2_session_want_write(session_.get()) == 0;
}

void H2ServerSession::refuse_stream(Stream& stream) {
  stream.refused = true;
  const uint16_t status = stream.delivered ? 0 : status_for(stream.translator.error());
  if (status != 0) {
    // 431 or 501 with no body; what the client sends after it is read and dropped.
    ++(status == 431 ? counters_.header_list_too_large : counters_.unsupported_requests);
    const std::string code = std::to_string(status);
    nghttp2_nv field{reinterpret_cast<uint8_t*>(const_cast<char*>(":status")),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(code.data())), 7, code.size(), NGHTTP2_NV_FLAG_NONE};
    nghttp2_submit_response(session_.get(), stream.id, &field, 1, nullptr);
    return;
  }
  ++counters_.malformed_requests;
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_PROTOCOL_ERROR);
  charge_reset();
}

void H2ServerSession::charge_reset() {
  if (ended_by_ != Defence::none) return;
  if (!resets_.take(now_ms_)) end_connection(Defence::rapid_reset, NGHTTP2_ENHANCE_YOUR_CALM);
}

void H2ServerSession::end_connection(Defence defence, uint32_t error_code) {
  if (ended_by_ != Defence::none) return;
  ended_by_ = defence;
  ++counters_.connections_ended[static_cast<uint8_t>(defence)];
  if (!broken_) nghttp2_session_terminate_session(session_.get(), error_code);
  close_all_streams(error_code);
}

void H2ServerSession::close_all_streams(uint32_t error_code) {
  std::vector<int32_t> ids;
  for (auto& [id, stream] : streams_) {
    if (stream->delivered && !stream->closed_notified) {
      stream->closed_notified = true;
      ids.push_back(id);
    }
  }
  for (int32_t id : ids) owner_.on_stream_closed(id, false, error_code);
}

void H2ServerSession::notify_writable() {
  writable_pending_ = false;
  std::vector<int32_t> ids;
  for (auto& [id, stream] : streams_) {
    if (stream->wants_room && stream->queued() <= limits_.max_queued_response_bytes / 2) {
      stream->wants_room = false;
      ids.push_back(id);
    }
  }
  for (int32_t id : ids) {
    if (find(id)) owner_.on_response_writable(id);
  }
}

}  // namespace lb::http2
