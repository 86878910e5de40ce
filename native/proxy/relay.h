// One direction of a byte relay between two sockets (a tunnel after a 101, or TCP mode):
// bytes from `from` go to `to` untouched, and the source's FIN is passed on as a
// shutdown(SHUT_WR) once every byte before it has been written.
//
// Two ways to move the bytes: through a pooled user-space buffer (BufferRelay), or
// through a pipe with splice(2) so they never enter user space (SpliceRelay).
#pragma once

#include <cstddef>
#include <cstdint>

#include "buffer/byte_buffer.h"
#include "reactor/unique_fd.h"
#include "stats/counter.h"

namespace lb::proxy {

class ClientTransport;

struct RelayEnd {
  int fd;
  bool& readable;  // edge-triggered readiness, cleared on EAGAIN
  bool& writable;
  stats::Counter* bytes;  // counts bytes read from (source) or written to (sink) this end
  // A client end that may speak TLS: BufferRelay reads, writes and shuts down through it
  // (SpliceRelay never gets one: TLS bytes cannot be spliced).
  ClientTransport* transport = nullptr;
};

struct RelayState {
  bool source_eof = false;  // the source sent its FIN
  bool shut_sent = false;   // we passed it on to the sink
  bool failed = false;      // a reset or error on either end

  bool finished() const { return shut_sent; }
};

class BufferRelay {
 public:
  // Moves what it can; true if anything moved (bytes or the FIN). `prefix`, if not
  // empty, is written to the sink before the buffer (e.g. a 101 head).
  bool pump(RelayEnd from, RelayEnd to, buffer::ByteBuffer& buffer, buffer::ByteBuffer* prefix);
  RelayState state;
};

class SpliceRelay {
 public:
  // False if the pipe could not be created (the caller falls back to BufferRelay).
  bool open();
  bool pump(RelayEnd from, RelayEnd to);
  RelayState state;

 private:
  reactor::UniqueFd read_end_;
  reactor::UniqueFd write_end_;
  size_t in_pipe_ = 0;  // bytes spliced in and not yet out
};

}  // namespace lb::proxy
