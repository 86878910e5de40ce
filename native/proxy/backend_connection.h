// One TCP connection to a backend, and its state machine:
//
//   connecting --connected--> [handshaking --done-->] attached <--take/park--> idle
//        |                          |                    |                       |
//        +------------- failed / timeout / EOF / error --+-----------------------+--> closed
//
// A TLS backend passes through `handshaking` (SSL_connect driven by the socket's edges;
// the connect timeout covers connect and handshake together). A handshake that fails, a
// certificate that does not verify included, is a connect failure for the owner. Every
// byte to and from the backend goes through `transport()` (plain or TLS, proxy/
// client_transport.h: the one seam for both ends).
//
// While attached it carries exactly one exchange for one client connection (its owner)
// and only records readiness; the owner moves the bytes. While idle it sits in its
// backend's pool, still registered with epoll, so a backend that closes it (EOF, HUP,
// ERR) or sends bytes nobody asked for gets it dropped at once, never reused.
#pragma once

#include <sys/uio.h>

#include <cstdint>

#include "proxy/client_transport.h"
#include "proxy/socket_io.h"
#include "reactor/event_loop.h"
#include "reactor/timer_wheel.h"
#include "reactor/unique_fd.h"
#include "upstream/upstream_backend.h"

namespace lb::proxy {

class FrontendConnection;
class WorkerContext;

enum class BackendConnState : uint8_t { connecting, handshaking, attached, idle, closed };
const char* to_string(BackendConnState state);

// An idle pooled TLS connection became readable. A post-handshake message (a late TLS 1.3
// session ticket, a key update) is consumed inside OpenSSL and leaves it usable: true.
// Application data, close_notify, EOF or an error: false, the connection must go. One
// read, at most one byte taken (and then the connection is closed anyway).
bool idle_tls_input_is_harmless(ClientTransport& transport);

class BackendConnection final : public reactor::EventHandler,
                                public reactor::TimerHandler,
                                public upstream::PooledConnection {
 public:
  // Starts a non-blocking connect for `owner`. Returns nullptr (and `error`) if the
  // socket could not even be created or the connect failed at once.
  static BackendConnection* open(WorkerContext& context, upstream::UpstreamBackend& backend, FrontendConnection* owner,
                                 int& error);

  // Hands an idle pooled connection to a new owner.
  void attach(FrontendConnection* owner);
  // Returns this connection to its backend's pool, or closes it if the pool is full.
  void park();
  // Closes the socket and retires the object (deleted at the end of the loop iteration).
  void close() override;

  void on_events(uint32_t events) override;
  void on_timer(reactor::Timer& timer) override;

  // Response timeout (time without a byte from the backend while one is expected).
  void arm_response_timer();
  void disarm_timer();

  int fd() const { return fd_.get(); }
  bool is_tls() const { return transport_.is_tls(); }
  ClientTransport& transport() { return transport_; }
  IoResult read(char* into, size_t capacity) { return transport_.read(into, capacity); }
  IoResult write(const iovec* parts, int count) { return transport_.write(parts, count); }
  // After a short read the socket is drained (plain), or may not be (TLS: only
  // would_block says so).
  bool short_read_drains() const { return transport_.short_read_drains(); }
  BackendConnState state() const { return state_; }
  upstream::UpstreamBackend& backend() const { return *backend_; }
  bool reused() const { return reused_; }

  // Readiness and failure facts, beside the state (edge-triggered: remembered until a
  // read or write says EAGAIN).
  bool readable = false;
  bool writable = false;
  bool peer_closed = false;  // EOF read, or RDHUP/HUP seen
  bool failed = false;       // error on the socket

 private:
  BackendConnection(WorkerContext& context, upstream::UpstreamBackend& backend, reactor::UniqueFd fd);
  ~BackendConnection() override;
  void enter(BackendConnState next);
  void on_connect_result(uint32_t events);
  // Drives the TLS handshake; on success the owner is told it is connected.
  void continue_handshake();
  void connected(bool readable_now);
  // Keeps the session of this TLS connection for the next one to the backend, unless the
  // backend's TLS settings changed since it was opened.
  void save_session();
  // The backend is still spoken to as this connection was opened (TLS on or off, context, name).
  bool speaks_current_tls() const { return tls_ == backend_->tls; }

  WorkerContext& context_;
  upstream::UpstreamBackend* backend_;
  reactor::UniqueFd fd_;
  ClientTransport transport_;
  // How it was opened: a reload that changes the backend's TLS (CA, verify, name) must not
  // see this connection pooled or its session offered, which would skip the new checks.
  upstream::BackendTls tls_;
  FrontendConnection* owner_ = nullptr;
  reactor::Timer timer_;
  BackendConnState state_ = BackendConnState::connecting;
  bool reused_ = false;
};

}  // namespace lb::proxy
