#include "proxy/tcp_connection.h"

#include <sys/socket.h>

#include <cerrno>
#include <span>

#include "balancing/hash.h"
#include "net/socket_address.h"
#include "net/socket_options.h"
#include "proxy/backend_connection.h"
#include "proxy/proxy_protocol.h"
#include "proxy/socket_io.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

const char* to_string(TcpState state) {
  switch (state) {
    case TcpState::connecting: return "connecting";
    case TcpState::relaying: return "relaying";
    case TcpState::closed: return "closed";
  }
  return "unknown";
}

TcpConnection::TcpConnection(WorkerContext& context, reactor::UniqueFd fd)
    : context_(context), fd_(std::move(fd)), timer_(this) {
  upstream_buffer_.attach_pool(&context_.buffers);
  downstream_buffer_.attach_pool(&context_.buffers);
}

TcpConnection::~TcpConnection() = default;

TcpConnection* TcpConnection::accept(WorkerContext& context, reactor::UniqueFd fd, const sockaddr_storage& peer) {
  auto* connection = new TcpConnection(context, std::move(fd));
  connection->peer_ = peer;
  if (context.config().proxy_protocol != ProxyProtocol::none) {
    // Only the PROXY header needs the local address (a wildcard listener's real one).
    socklen_t length = sizeof(connection->local_);
    getsockname(connection->fd_.get(), reinterpret_cast<sockaddr*>(&connection->local_), &length);
  }
  if (!context.adopt_client(connection, connection->fd_.get())) {
    delete connection;
    return nullptr;
  }
  context.counters.requests.add();
  context.upstream.on_request();  // its share of a retry, once per connection
  connection->connect_next_backend();
  return connection;
}

void TcpConnection::enter(TcpState next) { state_ = next; }

void TcpConnection::close() {
  if (state_ == TcpState::closed) return;
  if (backend_) {
    context_.upstream.end_exchange(backend_->backend());
    backend_->close();
    backend_ = nullptr;
  }
  enter(TcpState::closed);
  context_.loop.timers().disarm(timer_);
  context_.loop.remove(fd_.get());  // not left to close(): see ClientConnection::close
  fd_.reset();
  closed_ = true;
  upstream_buffer_.release();
  downstream_buffer_.release();
  context_.release_client(this);
}

void TcpConnection::drain() {
  // A relayed stream has no point at which it is idle by protocol; it finishes on its
  // own or is closed at the stop deadline.
}

void TcpConnection::connect_next_backend() {
  uint32_t max_tries = std::min<uint32_t>(context_.config().upstream.retries.max_tries, kMaxConnectTries);
  while (tries_ < max_tries) {
    // A second attempt is a retry, and retries are budgeted.
    if (tries_ > 0 && !context_.upstream.take_retry()) break;
    balancing::PickRequest request;
    request.tried = {tried_, tries_};
    if (context_.upstream.strategy_key() == balancing::StrategyKey::client_address) {
      // ip-hash keeps a client on one backend across connections.
      request.key = balancing::hash_bytes(net::host_bytes(reinterpret_cast<const sockaddr*>(&peer_)));
      request.has_key = true;
    }
    upstream::UpstreamBackend* backend = context_.upstream.pick(request);
    if (!backend) break;
    if (tries_ > 0) backend->counters->retries.add();
    tried_[tries_++] = backend;
    context_.upstream.begin_exchange(*backend);
    int error = 0;
    backend_ = BackendConnection::open(context_, *backend, this, error);
    if (backend_) return;  // wait for the connect result
    context_.upstream.end_exchange(*backend);
    context_.upstream.report_connect_failure(*backend, error != 0 ? error : EIO);
  }
  // Nobody to relay to: the client only sees its connection closed.
  if (tries_ == 0) {
    context_.counters.no_backend.add();
  } else {
    context_.counters.bad_gateway.add();
  }
  close();
}

void TcpConnection::on_backend_connect_failed(int error) {
  upstream::UpstreamBackend& backend = backend_->backend();
  context_.upstream.report_connect_failure(backend, error != 0 ? error : ECONNREFUSED);
  context_.upstream.end_exchange(backend);
  backend_->close();
  backend_ = nullptr;
  connect_next_backend();
}

bool TcpConnection::send_proxy_header() {
  ProxyProtocol version = context_.config().proxy_protocol;
  if (version == ProxyProtocol::none) return true;
  char header[kMaxProxyHeader];
  size_t length = write_proxy_header(version, peer_, local_, header, sizeof(header));
  if (length == 0) return false;
  // A freshly connected socket has kilobytes of send buffer; a header this small either
  // goes out whole or the connection is unusable.
  iovec part{header, length};
  IoResult io = write_some(backend_->fd(), &part, 1);
  if (io.status != IoStatus::progress || io.bytes != length) return false;
  backend_->backend().counters->bytes_to_backend.add(length);
  return true;
}

void TcpConnection::on_backend_connected() {
  backend_->backend().counters->requests.add();  // a relayed connection is one request
  context_.upstream.report_success(backend_->backend());
  if (!send_proxy_header()) {
    close();
    return;
  }
  use_splice_ = upstream_splice_.open() && downstream_splice_.open();
  enter(TcpState::relaying);
  context_.loop.timers().arm(timer_, context_.config().timeouts.tunnel_idle_ms);
  pump();
}

void TcpConnection::pump() {
  stats::BackendWorkerCounters& backend_counters = *backend_->backend().counters;
  RelayEnd client{fd_.get(), readable_, writable_, nullptr};
  RelayEnd backend{backend_->fd(), backend_->readable, backend_->writable, nullptr};
  RelayState* up = use_splice_ ? &upstream_splice_.state : &upstream_copy_.state;
  RelayState* down = use_splice_ ? &downstream_splice_.state : &downstream_copy_.state;
  bool active = false;
  for (;;) {
    client.bytes = &context_.counters.bytes_from_clients;
    backend.bytes = &backend_counters.bytes_to_backend;
    bool moved = use_splice_ ? upstream_splice_.pump(client, backend)
                             : upstream_copy_.pump(client, backend, upstream_buffer_, nullptr);
    client.bytes = &context_.counters.bytes_to_clients;
    backend.bytes = &backend_counters.bytes_from_backend;
    moved = (use_splice_ ? downstream_splice_.pump(backend, client)
                         : downstream_copy_.pump(backend, client, downstream_buffer_, nullptr)) ||
            moved;
    if (up->failed || down->failed || backend_->failed || (up->finished() && down->finished())) {
      close();
      return;
    }
    if (!moved) break;
    active = true;
  }
  if (active) context_.loop.timers().arm(timer_, context_.config().timeouts.tunnel_idle_ms);
}

void TcpConnection::on_events(uint32_t events) {
  if (events & EPOLLIN) readable_ = true;
  if (events & EPOLLOUT) writable_ = true;
  // HUP means both directions are shut: typically we passed the backend's FIN on and the
  // client then sent its own, possibly right behind its last bytes. Those bytes are still
  // readable, so HUP is read to EOF like RDHUP; only ERR (a reset) ends things at once.
  if (events & (EPOLLRDHUP | EPOLLHUP)) readable_ = true;
  if (events & EPOLLERR) {
    close();
    return;
  }
  if (state_ == TcpState::relaying) pump();
}

void TcpConnection::on_backend_io() {
  if (state_ == TcpState::relaying) pump();
}

void TcpConnection::on_backend_timeout() {
  // The backend connection arms no timer once relaying; the idle timer is ours.
}

void TcpConnection::on_timer(reactor::Timer&) { close(); }

}  // namespace lb::proxy
