// Non-blocking reads and writes with the outcome spelled out, so callers switch on a
// name instead of decoding -1 and errno at every call site.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace lb::proxy {

enum class IoStatus : uint8_t {
  progress,     // n bytes moved
  would_block,  // EAGAIN: wait for the next edge
  eof,          // read only: the peer closed its side
  failed,       // reset, broken pipe, ...: the socket is unusable
};

struct IoResult {
  IoStatus status;
  size_t bytes = 0;
  int error = 0;
};

IoResult read_some(int fd, char* into, size_t capacity);
IoResult write_some(int fd, const iovec* parts, int count);
// Whether a read would not block: bytes waiting, an EOF or an error (nothing is consumed).
bool input_pending(int fd);

}  // namespace lb::proxy
