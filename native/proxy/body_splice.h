// One step of moving a Content-Length body between two plain TCP sockets with splice(2),
// through a pipe, so its bytes never enter user space: into the pipe from the source
// (never more than `unread`, the body bytes not yet taken from the source, so nothing
// after the body is consumed), then out of the pipe to the sink. The caller accounts for
// the bytes and owns the framing; this knows nothing of HTTP.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proxy/pipe_pool.h"

namespace lb::proxy {

struct SpliceStep {
  size_t in = 0;   // bytes taken from the source into the pipe
  size_t out = 0;  // bytes written from the pipe to the sink
  bool source_eof = false;
  bool source_failed = false;
  bool sink_failed = false;
};

SpliceStep splice_body_step(SplicePipe& pipe, int source_fd, bool& source_readable, uint64_t unread, int sink_fd,
                            bool& sink_writable);

}  // namespace lb::proxy
