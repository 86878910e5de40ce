// Writes the heads lb-native forwards: the request head a backend receives and the
// response head a client receives. Framing is always re-written from what the parser
// decided (one Content-Length or chunked), never copied, and hop-by-hop headers are
// dropped, so both sides agree on where each message ends.
#pragma once

#include <string_view>

#include "buffer/byte_buffer.h"
#include "http1/parser.h"

namespace lb::http1 {

struct RequestHeadOptions {
  bool x_forwarded_for = true;
  std::string_view client_ip;  // appended to X-Forwarded-For
};

// False if the head does not fit in `out`.
bool write_request_head(const MessageHead& head, const RequestHeadOptions& options,
                        buffer::ByteBuffer& out);

struct ResponseHeadOptions {
  bool close_client = false;         // add "Connection: close"
  bool client_keep_alive_10 = false; // HTTP/1.0 client kept alive: "Connection: keep-alive"
};

bool write_response_head(const MessageHead& head, const ResponseHeadOptions& options,
                         buffer::ByteBuffer& out);

}  // namespace lb::http1
