// The outcome of one read or write on a TLS connection, in the same shape as the plain
// socket's (proxy/socket_io.h: progress / would_block / eof / failed), plus the socket
// event to wait for: OpenSSL may need to write to finish a read (or read to finish a
// write), and an edge-triggered caller must then arm the other direction.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lb::tls {

enum class TlsIoStatus : uint8_t {
  progress,     // `bytes` moved (a write may move fewer than offered)
  would_block,  // wait for `wait_for`, then call again (a write: with the same bytes)
  eof,          // read only: the peer closed (see TlsStream::peer_sent_close_notify)
  failed,       // the connection is unusable; `error` is the errno (EPROTO: a TLS error)
};

enum class WaitFor : uint8_t { readable, writable };

struct TlsIoResult {
  TlsIoStatus status;
  size_t bytes = 0;
  int error = 0;
  WaitFor wait_for = WaitFor::readable;
};

}  // namespace lb::tls
