#include "proxy/relay.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

#include "proxy/client_transport.h"
#include "proxy/socket_io.h"

namespace lb::proxy {

namespace {

// Passes the FIN on once nothing is left to write.
bool pass_on_fin(RelayState& state, const RelayEnd& sink, bool nothing_pending) {
  if (state.source_eof && nothing_pending && !state.shut_sent) {
    if (sink.transport) {
      sink.transport->shutdown_write();
    } else {
      ::shutdown(sink.fd, SHUT_WR);
    }
    state.shut_sent = true;
    return true;
  }
  return false;
}

}  // namespace

bool BufferRelay::pump(RelayEnd from, RelayEnd to, buffer::ByteBuffer& buffer, buffer::ByteBuffer* prefix) {
  bool moved = false;
  if (!state.source_eof && from.readable && buffer.write_space() > 0) {
    char* into = buffer.write_ptr();
    size_t space = buffer.contiguous_write_space();
    IoResult io = from.transport ? from.transport->read(into, space) : read_some(from.fd, into, space);
    if (io.status == IoStatus::progress) {
      buffer.commit(io.bytes);
      if (from.bytes) from.bytes->add(io.bytes);
      // Readiness is cleared only by EAGAIN: a FIN that came with this data must still
      // be read, and no further edge would announce it.
      moved = true;
    } else if (io.status == IoStatus::would_block) {
      from.readable = false;
    } else if (io.status == IoStatus::eof) {
      from.readable = false;
      state.source_eof = true;
      moved = true;
    } else {
      state.failed = true;
      return false;
    }
  }

  size_t prefix_size = prefix ? prefix->size() : 0;
  if ((prefix_size > 0 || !buffer.empty()) && to.writable) {
    iovec parts[2];
    int count = 0;
    if (prefix_size > 0) parts[count++] = {const_cast<char*>(prefix->data()), prefix_size};
    if (!buffer.empty()) parts[count++] = {const_cast<char*>(buffer.data()), buffer.size()};
    size_t total = prefix_size + buffer.size();
    IoResult io = to.transport ? to.transport->write(parts, count) : write_some(to.fd, parts, count);
    if (io.status == IoStatus::progress) {
      size_t from_prefix = std::min(io.bytes, prefix_size);
      if (from_prefix > 0) prefix->consume(from_prefix);
      buffer.consume(io.bytes - from_prefix);
      if (to.bytes) to.bytes->add(io.bytes);
      if (io.bytes < total) to.writable = false;
      moved = true;
    } else if (io.status == IoStatus::would_block) {
      to.writable = false;
    } else {
      state.failed = true;
      return false;
    }
  }
  bool nothing_pending = buffer.empty() && (prefix == nullptr || prefix->empty());
  if (nothing_pending) buffer.release_if_empty();
  return pass_on_fin(state, to, nothing_pending) || moved;
}

bool SpliceRelay::open() {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  read_end_.reset(fds[0]);
  write_end_.reset(fds[1]);
  return true;
}

bool SpliceRelay::pump(RelayEnd from, RelayEnd to) {
  constexpr size_t kChunk = 64 * 1024;  // the default pipe capacity
  constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
  bool moved = false;
  if (!state.source_eof && from.readable && in_pipe_ < kChunk) {
    ssize_t n = ::splice(from.fd, nullptr, write_end_.get(), nullptr, kChunk - in_pipe_, kFlags);
    if (n > 0) {
      in_pipe_ += static_cast<size_t>(n);
      if (from.bytes) from.bytes->add(static_cast<uint64_t>(n));
      moved = true;
    } else if (n == 0) {
      from.readable = false;
      state.source_eof = true;
      moved = true;
    } else if (errno == EAGAIN) {
      // EAGAIN means an empty socket or a full pipe; only an empty pipe proves the
      // former, so readiness is kept otherwise and the read retried after a drain.
      if (in_pipe_ == 0) from.readable = false;
    } else if (errno != EINTR) {
      state.failed = true;
      return false;
    }
  }
  if (in_pipe_ > 0 && to.writable) {
    ssize_t n = ::splice(read_end_.get(), nullptr, to.fd, nullptr, in_pipe_, kFlags);
    if (n > 0) {
      in_pipe_ -= static_cast<size_t>(n);
      if (to.bytes) to.bytes->add(static_cast<uint64_t>(n));
      // A short splice does not prove the socket is full; the next call's EAGAIN does.
      moved = true;
    } else if (n < 0 && errno == EAGAIN) {
      to.writable = false;
    } else if (n < 0 && errno != EINTR) {
      state.failed = true;
      return false;
    }
  }
  return pass_on_fin(state, to, in_pipe_ == 0) || moved;
}

}  // namespace lb::proxy
