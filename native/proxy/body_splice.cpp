#include "proxy/body_splice.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

namespace lb::proxy {

SpliceStep splice_body_step(SplicePipe& pipe, int source_fd, bool& source_readable, uint64_t unread, int sink_fd,
                            bool& sink_writable) {
  constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
  SpliceStep step;
  if (source_readable && unread > 0 && pipe.held < PipePool::kPipeCapacity) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(unread, PipePool::kPipeCapacity - pipe.held));
    ssize_t n;
    do {
      n = ::splice(source_fd, nullptr, pipe.write_end.get(), nullptr, want, kFlags);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      pipe.held += static_cast<size_t>(n);
      step.in = static_cast<size_t>(n);
      // A short splice does not prove the socket empty (the pipe may have run out of
      // slots): readiness is cleared only by EAGAIN on an empty pipe, or EOF.
    } else if (n == 0) {
      source_readable = false;
      step.source_eof = true;
    } else if (errno == EAGAIN) {
      // An empty socket, or a pipe out of slots: only an empty pipe proves the former.
      if (pipe.held == 0) source_readable = false;
    } else {
      source_readable = false;
      step.source_failed = true;
    }
  }
  if (pipe.held > 0 && sink_writable) {
    ssize_t n;
    do {
      n = ::splice(pipe.read_end.get(), nullptr, sink_fd, nullptr, pipe.held, kFlags);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      pipe.held -= static_cast<size_t>(n);
      step.out = static_cast<size_t>(n);
      // A short splice does not prove the socket full; the next call's EAGAIN does.
    } else if (n < 0 && errno == EAGAIN) {
      sink_writable = false;
    } else if (n < 0) {
      step.sink_failed = true;
    }
  }
  return step;
}

}  // namespace lb::proxy
