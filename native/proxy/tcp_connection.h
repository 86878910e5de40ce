// One client connection in TCP mode (an L4 relay), and its state machine:
//
//   connecting --backend connected--> relaying --both sides shut, or a reset--> closed
//       |  (refused or timed out: the next backend, within the retry policy)
//       +--------------------- no backend left -------------------------------> closed
//
// Bytes are never parsed: they move through a pipe with splice(2) (or a buffer when a
// pipe cannot be had), a FIN from one side becomes a shutdown(SHUT_WR) on the other,
// and a reset on either side closes both.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "buffer/byte_buffer.h"
#include "proxy/exchange.h"
#include "proxy/frontend_connection.h"
#include "proxy/relay.h"
#include "reactor/unique_fd.h"

namespace lb::proxy {

class BackendConnection;
class WorkerContext;

enum class TcpState : uint8_t { connecting, relaying, closed };
const char* to_string(TcpState state);

class TcpConnection final : public FrontendConnection {
 public:
  static TcpConnection* accept(WorkerContext& context, reactor::UniqueFd fd, const sockaddr_storage& peer);

  void on_events(uint32_t events) override;
  void on_timer(reactor::Timer& timer) override;
  void on_backend_connected() override;
  void on_backend_connect_failed(int error) override;
  void on_backend_io() override;
  void on_backend_timeout() override;
  void drain() override;
  void close() override;

  TcpState state() const { return state_; }

 private:
  TcpConnection(WorkerContext& context, reactor::UniqueFd fd);
  ~TcpConnection() override;
  void enter(TcpState next);
  void connect_next_backend();
  bool send_proxy_header();
  void pump();

  WorkerContext& context_;
  reactor::UniqueFd fd_;
  reactor::Timer timer_;
  BackendConnection* backend_ = nullptr;
  sockaddr_storage peer_{};
  sockaddr_storage local_{};
  balancing::BackendRuntime* tried_[kMaxConnectTries] = {};
  uint32_t tries_ = 0;
  TcpState state_ = TcpState::connecting;
  bool readable_ = true;
  bool writable_ = true;
  bool use_splice_ = false;
  // Buffer fallback: client -> backend and backend -> client.
  buffer::ByteBuffer upstream_buffer_;
  buffer::ByteBuffer downstream_buffer_;
  BufferRelay upstream_copy_;
  BufferRelay downstream_copy_;
  SpliceRelay upstream_splice_;
  SpliceRelay downstream_splice_;
};

}  // namespace lb::proxy
