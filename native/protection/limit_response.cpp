#include "protection/limit_response.h"

#include <cstdio>
#include <string>

namespace lb::protection {

bool write_limit_response(uint16_t status, uint32_t retry_after_s, bool close, buffer::ByteBuffer& out) {
  const char* reason = status == 429 ? "Too Many Requests" : "Service Unavailable";
  char text[256];
  // The body is the reason and a newline: its length is the reason's plus one.
  int n = std::snprintf(text, sizeof(text),
                        "HTTP/1.1 %u %s\r\nRetry-After: %u\r\nContent-Type: text/plain\r\nContent-Length: "
                        "%zu\r\nConnection: %s\r\n\r\n%s\n",
                        static_cast<unsigned>(status), reason, retry_after_s,
                        std::char_traits<char>::length(reason) + 1, close ? "close" : "keep-alive", reason);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(text)) return false;
  return out.append({text, static_cast<size_t>(n)});
}

}  // namespace lb::protection
