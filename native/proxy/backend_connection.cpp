#include "proxy/backend_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "net/socket_options.h"
#include "proxy/frontend_connection.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

const char* to_string(BackendConnState state) {
  switch (state) {
    case BackendConnState::connecting: return "connecting";
    case BackendConnState::handshaking: return "handshaking";
    case BackendConnState::attached: return "attached";
    case BackendConnState::idle: return "idle";
    case BackendConnState::closed: return "closed";
  }
  return "unknown";
}

BackendConnection::BackendConnection(WorkerContext& context, upstream::UpstreamBackend& backend, reactor::UniqueFd fd)
    : context_(context), backend_(&backend), fd_(std::move(fd)), transport_(fd_.get()), timer_(this) {
  context_.upstream.connection_opened(backend);
}

// The TLS stream (if any) is freed with the transport, before nothing else needs it.
BackendConnection::~BackendConnection() = default;

BackendConnection* BackendConnection::open(WorkerContext& context, upstream::UpstreamBackend& backend,
                                           FrontendConnection* owner, int& error) {
  const net::SocketAddress& address = backend.spec.address;
  reactor::UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    error = errno;
    return nullptr;
  }
  net::set_no_delay(fd.get());
  net::set_keep_alive(fd.get(), context.config().pool.tcp_keep_alive);
  if (::connect(fd.get(), address.get(), address.length) != 0 && errno != EINPROGRESS) {
    error = errno;
    return nullptr;
  }
  auto* connection = new BackendConnection(context, backend, std::move(fd));
  connection->tls_ = backend.tls;
  if (backend.tls.enabled()) {
    // The ClientHello goes out once the TCP connect completes; the SSL object exists now
    // so that a context that cannot make one fails the connect at once.
    std::string problem;
    if (!connection->transport_.start_tls_connect(backend.tls.context, backend.tls.server_name,
                                                  backend.tls_session.get(), problem)) {
      backend.counters->tls_handshake_failures.add();
      error = EPROTO;
      connection->close();
      return nullptr;
    }
  }
  if (!context.loop.add(connection->fd(), connection)) {
    error = errno;
    connection->close();
    return nullptr;
  }
  connection->owner_ = owner;
  connection->state_ = BackendConnState::connecting;
  context.loop.timers().arm(connection->timer_, context.config().timeouts.connect_ms);
  backend.counters->connections_opened.add();
  return connection;
}

void BackendConnection::enter(BackendConnState next) {
  // Gauges follow the state: active while attached, idle while parked.
  if (state_ == BackendConnState::attached) backend_->counters->active_connections.sub();
  if (state_ == BackendConnState::idle) backend_->counters->idle_connections.sub();
  if (next == BackendConnState::attached) backend_->counters->active_connections.add();
  if (next == BackendConnState::idle) backend_->counters->idle_connections.add();
  state_ = next;
  dispatch_first_ = next == BackendConnState::idle;
}

void BackendConnection::attach(FrontendConnection* owner) {
  owner_ = owner;
  reused_ = true;
  context_.loop.timers().disarm(timer_);
  enter(BackendConnState::attached);
}

void BackendConnection::park() {
  owner_ = nullptr;
  if (!speaks_current_tls()) {
    close();  // opened under TLS settings a reload has replaced
    return;
  }
  if (transport_.is_tls()) {
    // Bytes decrypted and not yet asked for were never part of the response: unsolicited,
    // so the connection is not reused. TLS 1.3 tickets have arrived by now (they come
    // before the response), so this is when the session is worth keeping.
    if (transport_.tls()->has_buffered_input()) {
      close();
      return;
    }
    save_session();
  }
  const ProxyConfig& config = context_.config();
  // Beyond the pool's size a connection is surplus: kept briefly for the rest of a burst
  // (the most recently parked are taken first), then closed if still idle.
  const bool surplus = backend_->pool.size() >= config.pool.max_idle_per_backend;
  if (surplus && (config.pool.max_idle_per_backend == 0 || config.pool.surplus_idle_ms == 0)) {
    close();
    return;
  }
  backend_->pool.park(this, context_.loop.iteration());
  enter(BackendConnState::idle);
  uint32_t idle_ms = config.timeouts.backend_idle_ms;
  if (surplus) idle_ms = std::min(idle_ms, config.pool.surplus_idle_ms);
  context_.loop.timers().arm(timer_, idle_ms);
}

void BackendConnection::close() {
  if (state_ == BackendConnState::closed) return;
  if (state_ == BackendConnState::idle) backend_->pool.forget(this);
  // A connection that is not reused (Connection: close, the backend's idle close) still
  // leaves its session for the next one: with TLS 1.3 the ticket came after the handshake.
  if (transport_.is_tls() && (state_ == BackendConnState::attached || state_ == BackendConnState::idle)) {
    save_session();
  }
  enter(BackendConnState::closed);
  context_.loop.timers().disarm(timer_);
  owner_ = nullptr;
  context_.loop.remove(fd_.get());  // not left to close(): see ClientConnection::close
  // close_notify on a connection that completed its handshake (best effort, never
  // waited for), then the TLS stream goes before its socket.
  transport_.close_notify();
  transport_.release();
  fd_.reset();
  closed_ = true;
  context_.upstream.connection_closed(*backend_);
  context_.loop.retire(this);
}

void BackendConnection::arm_response_timer() {
  context_.loop.timers().arm(timer_, context_.config().timeouts.response_ms);
}

void BackendConnection::disarm_timer() { context_.loop.timers().disarm(timer_); }

void BackendConnection::on_connect_result(uint32_t events) {
  int error = net::pending_error(fd_.get());
  if (error == 0 && (events & EPOLLERR)) error = ECONNREFUSED;
  FrontendConnection* owner = owner_;
  if (error != 0) {
    // The owner decides what happens next (another backend, or a 502) and closes us.
    owner->on_backend_connect_failed(error);
    return;
  }
  if (transport_.is_tls()) {
    // The connect timer keeps running: it bounds connect and handshake together.
    enter(BackendConnState::handshaking);
    continue_handshake();
    return;
  }
  connected((events & EPOLLIN) != 0);
}

void BackendConnection::connected(bool readable_now) {
  context_.loop.timers().disarm(timer_);
  enter(BackendConnState::attached);
  writable = true;
  if (readable_now) readable = true;
  owner_->on_backend_connected();
}

void BackendConnection::continue_handshake() {
  tls::TlsStream& stream = *transport_.tls();
  switch (transport_.handshake()) {
    case tls::HandshakeStatus::want_read:
    case tls::HandshakeStatus::want_write: return;  // both edges are watched: the next one calls again
    case tls::HandshakeStatus::done:
      if (stream.resumed()) {
        backend_->counters->tls_handshakes_resumed.add();
      } else {
        backend_->counters->tls_handshakes_full.add();
      }
      save_session();  // TLS 1.2 has it now; TLS 1.3 again after the response (park)
      // OpenSSL may already hold a post-handshake message (a TLS 1.3 ticket): the first
      // read of the owner takes it.
      connected(true);
      return;
    case tls::HandshakeStatus::failed: {
      backend_->counters->tls_handshake_failures.add();
      backend_->tls_failure_reason = stream.failure_reason();
      backend_->tls_session.reset();  // a session it refused is not offered again
      // A certificate that does not verify, a refusal or a close: for the owner and for
      // passive health all the same as a refused connect.
      int error = stream.failure() == tls::HandshakeFailure::io_error && stream.failure_errno() != 0
                      ? stream.failure_errno()
                      : EPROTO;
      owner_->on_backend_connect_failed(error);
      return;
    }
  }
}

void BackendConnection::save_session() {
  if (!speaks_current_tls()) return;
  if (tls::SslSessionPtr session = transport_.tls()->resumable_session()) backend_->tls_session = std::move(session);
}

bool idle_tls_input_is_harmless(ClientTransport& transport) {
  // A post-handshake message is consumed inside OpenSSL and the read says would_block;
  // application data, close_notify or EOF come out as bytes, eof or failed.
  char byte;
  IoResult io = transport.read(&byte, 1);
  return io.status == IoStatus::would_block && transport.tls() != nullptr && !transport.tls()->has_buffered_input();
}

void BackendConnection::on_events(uint32_t events) {
  switch (state_) {
    case BackendConnState::connecting:
      if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connect_result(events);
      return;
    case BackendConnState::handshaking: continue_handshake(); return;
    case BackendConnState::attached:
      events = transport_.map_events(events);
      if (events & EPOLLIN) readable = true;
      if (events & EPOLLOUT) writable = true;
      // Bytes may still be readable after RDHUP/HUP (a response then a close): the owner
      // reads until EOF before it treats the connection as gone.
      if (events & (EPOLLRDHUP | EPOLLHUP)) {
        peer_closed = true;
        readable = true;
      }
      if (events & EPOLLERR) failed = true;
      owner_->on_backend_io();
      return;
    case BackendConnState::idle:
      // Nothing is expected on an idle connection: a close, a reset or unsolicited bytes
      // all mean it must never carry another request.
      if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        close();
        return;
      }
      // Over TLS a readable edge may be a late session ticket or a key update, which
      // leave the connection usable; a close_notify or data do not.
      if ((events & EPOLLIN) && !(transport_.is_tls() && idle_tls_input_is_harmless(transport_))) {
        close();
        return;
      }
      if (events & EPOLLOUT) writable = true;
      return;
    case BackendConnState::closed: return;
  }
}

void BackendConnection::on_timer(reactor::Timer&) {
  switch (state_) {
    case BackendConnState::connecting:
    case BackendConnState::handshaking: owner_->on_backend_connect_failed(ETIMEDOUT); return;
    case BackendConnState::attached: owner_->on_backend_timeout(); return;
    case BackendConnState::idle: close(); return;
    case BackendConnState::closed: return;
  }
}

}  // namespace lb::proxy
