// What an H2ServerSession tells the code that owns it (the front-end connection), per
// stream. Calls come from inside H2ServerSession::feed() and pending_output(); the owner
// may call the session's response methods from them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "http2/request_translator.h"

namespace lb::http2 {

class SessionOwner {
 public:
  virtual ~SessionOwner() = default;

  // A request head arrived and was translated to HTTP/1.1. `head.has_body`: DATA follows.
  virtual void on_request_head(int32_t stream_id, const RequestHead& head) = 0;
  // Request body bytes, valid during the call. The stream's flow-control credit comes back
  // only as the owner calls consume_request_body, so unconsumed bytes are bounded by the
  // stream window.
  virtual void on_request_data(int32_t stream_id, std::span<const uint8_t> bytes) = 0;
  // The request is complete. `trailer_lines`: its trailers as HTTP/1.1 field lines
  // ("name: value\r\n" each), empty if none.
  virtual void on_request_end(int32_t stream_id, std::string_view trailer_lines) = 0;
  // The stream is gone. `completed`: the response was sent in full; otherwise it was
  // reset (by the client, a defence, or the connection ending) and its backend work must
  // be cancelled. `error_code` is HTTP/2's (0 = NO_ERROR). No call for the stream follows.
  virtual void on_stream_closed(int32_t stream_id, bool completed, uint32_t error_code) = 0;
  // send_response_body refused bytes earlier; the stream's queue has room again.
  virtual void on_response_writable(int32_t stream_id) = 0;
};

}  // namespace lb::http2
