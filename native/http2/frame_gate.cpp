#include "http2/frame_gate.h"

#include <algorithm>

namespace lb::http2 {

namespace {

constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum FrameType : uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kSettings = 0x4,
  kPing = 0x6,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};
constexpr uint8_t kEndStream = 0x1;
constexpr uint8_t kAck = 0x1;
constexpr uint8_t kEndHeaders = 0x4;
constexpr uint8_t kPadded = 0x8;

}  // namespace

FrameGate::FrameGate(const SessionLimits& limits, uint64_t now_ms)
    : max_header_block_bytes_(limits.max_header_block_bytes),
      max_continuation_frames_(limits.max_continuation_frames),
      window_updates_per_data_frame_(limits.window_updates_per_data_frame),
      settings_(limits.settings_frames, now_ms),
      pings_(limits.ping_frames, now_ms),
      priorities_(limits.priority_frames, now_ms),
      empty_data_(limits.empty_data_frames, now_ms),
      window_updates_(limits.window_update_frames, now_ms) {}

FrameGate::Verdict FrameGate::inspect(const uint8_t* data, size_t len, uint64_t now_ms) {
  Verdict verdict;
  size_t pos = 0;
  while (preface_matched_ < kPrefaceSize && pos < len) {
    if (data[pos] != static_cast<uint8_t>(kPreface[preface_matched_])) {
      verdict.passed = pos;
      verdict.refused = Defence::not_http2_preface;
      // "GET /", "POST /", "PUT /"...: an HTTP/1 method differs from "PRI" within its first
      // three letters.
      verdict.looks_like_http1 =
          preface_matched_ < 3 && data[0] >= 'A' && data[0] <= 'Z' && data[pos] >= 'A' && data[pos] <= 'Z';
      return verdict;
    }
    ++preface_matched_;
    ++pos;
  }
  while (pos < len) {
    if (header_have_ < kFrameHeaderSize) {
      const size_t take = std::min(len - pos, kFrameHeaderSize - header_have_);
      std::copy(data + pos, data + pos + take, header_ + header_have_);
      header_have_ += static_cast<uint32_t>(take);
      if (header_have_ < kFrameHeaderSize) {
        pos += take;
        break;
      }
      length_ = (uint32_t{header_[0]} << 16) | (uint32_t{header_[1]} << 8) | header_[2];
      type_ = header_[3];
      flags_ = header_[4];
      payload_left_ = length_;
      awaiting_pad_length_ = type_ == kData && (flags_ & kPadded) != 0 && (flags_ & kEndStream) == 0 && length_ > 0;
      const Defence refused = charge_frame(now_ms);
      if (refused != Defence::none) {
        verdict.passed = pos;
        verdict.refused = refused;
        return verdict;
      }
      pos += take;
      if (payload_left_ == 0) header_have_ = 0;
      continue;
    }
    if (awaiting_pad_length_) {
      awaiting_pad_length_ = false;
      // Padding only (pad length == payload - 1): as empty as a zero-length DATA frame.
      if (uint32_t{data[pos]} + 1 == length_ && !empty_data_.take(now_ms)) {
        verdict.passed = pos;
        verdict.refused = Defence::empty_data_flood;
        return verdict;
      }
    }
    const size_t take = std::min<size_t>(len - pos, payload_left_);
    pos += take;
    payload_left_ -= static_cast<uint32_t>(take);
    if (payload_left_ == 0) header_have_ = 0;
  }
  verdict.passed = pos;
  return verdict;
}

Defence FrameGate::charge_frame(uint64_t now_ms) {
  if (type_ == kHeaders) {
    in_header_block_ = (flags_ & kEndHeaders) == 0;
    continuations_ = 0;
    header_block_bytes_ = length_;
    if (header_block_bytes_ > max_header_block_bytes_) return Defence::header_block_too_large;
    return Defence::none;
  }
  if (type_ == kContinuation) {
    // A CONTINUATION outside a header block is nghttp2's to refuse (PROTOCOL_ERROR).
    if (!in_header_block_) return Defence::none;
    if (++continuations_ > max_continuation_frames_) return Defence::continuation_flood;
    header_block_bytes_ += length_;
    if (header_block_bytes_ > max_header_block_bytes_) return Defence::header_block_too_large;
    if (flags_ & kEndHeaders) in_header_block_ = false;
    return Defence::none;
  }
  switch (type_) {
    case kSettings:
      if ((flags_ & kAck) == 0 && !settings_.take(now_ms)) return Defence::settings_flood;
      break;
    case kPing:
      if ((flags_ & kAck) == 0 && !pings_.take(now_ms)) return Defence::ping_flood;
      break;
    case kPriority:
      if (!priorities_.take(now_ms)) return Defence::priority_flood;
      break;
    case kWindowUpdate:
      if (!window_updates_.take(now_ms)) return Defence::window_update_flood;
      break;
    case kData:
      if (length_ == 0 && (flags_ & kEndStream) == 0 && !empty_data_.take(now_ms)) return Defence::empty_data_flood;
      break;
    default: break;
  }
  return Defence::none;
}

}  // namespace lb::http2
