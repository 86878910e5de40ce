#include "proxy/backend_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "net/socket_options.h"
#include "proxy/frontend_connection.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

const char* to_string(BackendConnState state) {
  switch (state) {
    case BackendConnState::connecting: return "connecting";
    case BackendConnState::attached: return "attached";
    case BackendConnState::idle: return "idle";
    case BackendConnState::closed: return "closed";
  }
  return "unknown";
}

BackendConnection::BackendConnection(WorkerContext& context, upstream::UpstreamBackend& backend, reactor::UniqueFd fd)
    : context_(context), backend_(&backend), fd_(std::move(fd)), timer_(this) {
  context_.upstream.connection_opened(backend);
}

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
  enter(BackendConnState::closed);
  context_.loop.timers().disarm(timer_);
  owner_ = nullptr;
  context_.loop.remove(fd_.get());  // not left to close(): see ClientConnection::close
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
  context_.loop.timers().disarm(timer_);
  enter(BackendConnState::attached);
  writable = true;
  if (events & EPOLLIN) readable = true;
  owner->on_backend_connected();
}

void BackendConnection::on_events(uint32_t events) {
  switch (state_) {
    case BackendConnState::connecting:
      if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connect_result(events);
      return;
    case BackendConnState::attached:
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
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
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
    case BackendConnState::connecting: owner_->on_backend_connect_failed(ETIMEDOUT); return;
    case BackendConnState::attached: owner_->on_backend_timeout(); return;
    case BackendConnState::idle: close(); return;
    case BackendConnState::closed: return;
  }
}

}  // namespace lb::proxy
