// Looks at the client's bytes before nghttp2 does: checks the connection preface, then
// walks the frame headers (9 bytes each, payloads skipped) and charges each frame that
// costs work without carrying a request against its budget. A frame over a budget, a
// header block over its size or CONTINUATION count, or a preface that is not HTTP/2's is
// refused before nghttp2 reads a byte of it, so nghttp2's own limits (which differ between
// the release in node and Debian's) are never the ones that decide.
#pragma once

#include <cstddef>
#include <cstdint>

#include "http2/session_limits.h"
#include "http2/token_bucket.h"

namespace lb::http2 {

class FrameGate {
 public:
  FrameGate(const SessionLimits& limits, uint64_t now_ms);

  struct Verdict {
    size_t passed = 0;                // leading bytes that may go to nghttp2
    Defence refused = Defence::none;  // set when the rest is refused
    bool looks_like_http1 = false;    // with not_http2_preface: an HTTP/1 request line starts
  };
  Verdict inspect(const uint8_t* data, size_t len, uint64_t now_ms);

  // Each DATA frame we send earns the client WINDOW_UPDATE tokens.
  void data_frame_sent() { window_updates_.earn(window_updates_per_data_frame_); }

 private:
  Defence charge_frame(uint64_t now_ms);

  static constexpr size_t kPrefaceSize = 24;
  static constexpr size_t kFrameHeaderSize = 9;

  const uint32_t max_header_block_bytes_;
  const uint32_t max_continuation_frames_;
  const uint32_t window_updates_per_data_frame_;
  TokenBucket settings_;
  TokenBucket pings_;
  TokenBucket priorities_;
  TokenBucket empty_data_;
  TokenBucket window_updates_;

  uint32_t preface_matched_ = 0;
  uint8_t header_[kFrameHeaderSize] = {};
  uint32_t header_have_ = 0;
  uint32_t payload_left_ = 0;
  // The current frame.
  uint32_t length_ = 0;
  uint8_t type_ = 0;
  uint8_t flags_ = 0;
  bool awaiting_pad_length_ = false;  // a padded DATA frame: its first payload byte decides emptiness
  // The header block in progress (HEADERS without END_HEADERS, then CONTINUATION frames).
  bool in_header_block_ = false;
  uint32_t continuations_ = 0;
  uint64_t header_block_bytes_ = 0;
};

}  // namespace lb::http2
