#include "runtime/worker.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>

#include "proxy/client_connection.h"
#include "proxy/tcp_connection.h"
#include "proxy/worker_context.h"

namespace lb::runtime {

// New connections taken per loop iteration. Small, so that accepting interleaves with the
// work of the connections already open: a burst of connections accepted in one go sends
// their requests to the backends as one lump, and their answers come back as one (the
// listener is level-triggered, so what is left is reported again next iteration).
constexpr int kAcceptBatch = 8;

// One listener's readiness, level-triggered: the accept loop takes a bounded batch per
// wake-up so one busy listener cannot starve the connections already open.
class Worker::AcceptHandler final : public reactor::EventHandler {
 public:
  AcceptHandler(Worker& worker, uint16_t slot) : worker_(worker), slot_(slot) {}
  void on_events(uint32_t) override {
    worker_.accept_connections(worker_.listeners_[slot_].listener, slot_, kAcceptBatch);
  }

 private:
  Worker& worker_;
  const uint16_t slot_;
};

// A listener the worker has moved away from. Closing it at once would reset the
// connections whose handshake is done but whose first bytes have not arrived: with
// deferred accept the kernel holds those outside the accept queue, where no accept can
// reach them, and drops them with the socket. So it goes on taking connections (edge-
// triggered, everything queued at each edge) until every such connection has either
// sent its first bytes or been handed over empty at the end of the deferral, plus a
// margin; then it takes what is queued and closes.
class Worker::RetiringListener final : public reactor::EventHandler, public reactor::TimerHandler {
 public:
  static constexpr uint64_t kGraceMs = net::Listener::kDeferAcceptSeconds * 1000 + 1000;

  RetiringListener(Worker& worker, uint16_t slot, net::Listener listener)
      : worker_(worker), slot_(slot), listener_(std::move(listener)), timer_(this) {}

  net::Listener& listener() { return listener_; }
  uint16_t slot() const { return slot_; }
  reactor::Timer& timer() { return timer_; }
  void on_events(uint32_t) override { worker_.accept_connections(listener_, slot_, INT_MAX); }
  void on_timer(reactor::Timer&) override { worker_.finish_retiring(this); }
  // Stale events queued for it in this iteration become no-ops.
  void mark_closed() { closed_ = true; }

 private:
  Worker& worker_;
  const uint16_t slot_;  // connections it still takes belong to this listener
  net::Listener listener_;
  reactor::Timer timer_;
};

Worker::Worker(uint16_t index, std::vector<net::Listener> listeners, std::shared_ptr<const proxy::ProxyConfig> config,
               stats::WorkerChannels& channels)
    : index_(index),
      initial_config_(std::move(config)),
      channels_(channels),
      inbox_(std::make_unique<reactor::Inbox>()) {
  for (size_t slot = 0; slot < listeners.size(); ++slot) {
    listeners_.push_back(
        ListenerSlot{std::move(listeners[slot]), std::make_unique<AcceptHandler>(*this, static_cast<uint16_t>(slot))});
  }
}

Worker::~Worker() { join(); }

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::publish(std::shared_ptr<const proxy::ProxyConfig> config) {
  inbox_->post([this, config = std::move(config)]() mutable {
    if (!stopping_) context_->adopt(std::move(config));
  });
}

void Worker::clear_ejection(uint32_t backend_id) {
  inbox_->post([this, backend_id] {
    if (!stopping_) context_->upstream.clear_ejection(backend_id);
  });
}

void Worker::replace_listener(size_t slot, net::Listener listener) {
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    pending_listeners_.emplace_back(slot, std::move(listener));
  }
  inbox_->post([this] {
    std::vector<std::pair<size_t, net::Listener>> listeners;
    {
      std::lock_guard<std::mutex> lock(pending_mutex_);
      listeners.swap(pending_listeners_);
    }
    for (auto& [slot, next] : listeners) adopt_listener(slot, std::move(next));
  });
}

void Worker::adopt_listener(size_t slot, net::Listener listener) {
  if (stopping_ || slot >= listeners_.size()) return;
  ListenerSlot& entry = listeners_[slot];
  net::Listener old = std::move(entry.listener);
  if (accepting_ && old.valid()) loop_->remove(old.fd());
  entry.listener = std::move(listener);
  // Accepting (or full, waiting for a free slot): the new socket joins the others.
  if (accepting_) loop_->add_level_read(entry.listener.fd(), entry.handler.get());
  if (old.valid()) retire_listener(static_cast<uint16_t>(slot), std::move(old));
}

void Worker::retire_listener(uint16_t slot, net::Listener old) {
  // Connections the kernel already queued on the old socket are taken first.
  accept_connections(old, slot, INT_MAX);
  if (!old.defers_accept()) return;  // nothing held outside the queue: close now
  auto retiring = std::make_unique<RetiringListener>(*this, slot, std::move(old));
  if (!loop_->add(retiring->listener().fd(), retiring.get())) return;  // closes it
  loop_->timers().arm(retiring->timer(), RetiringListener::kGraceMs);
  retiring_.push_back(std::move(retiring));
}

void Worker::finish_retiring(RetiringListener* retiring) {
  auto it = std::find_if(retiring_.begin(), retiring_.end(),
                         [retiring](const auto& entry) { return entry.get() == retiring; });
  if (it == retiring_.end()) return;
  accept_connections(retiring->listener(), retiring->slot(), INT_MAX);
  close_retiring(std::move(*it));
  retiring_.erase(it);
}

void Worker::close_retiring(std::unique_ptr<RetiringListener> retiring) {
  loop_->remove(retiring->listener().fd());
  loop_->timers().disarm(retiring->timer());
  retiring->listener().close();
  retiring->mark_closed();
  loop_->retire(retiring.release());  // deleted once no queued event can point at it
}

void Worker::request_stop(uint32_t deadline_ms) {
  inbox_->post([this, deadline_ms] { begin_stop(deadline_ms); });
}

void Worker::run() {
  loop_ = std::make_unique<reactor::EventLoop>();
  context_ = std::make_unique<proxy::WorkerContext>(index_, *loop_, channels_, std::move(initial_config_));
  loop_->add_level_read(inbox_->fd(), inbox_.get());
  set_accepting(true);

  while (!stopping_ || (context_->client_count() > 0 && loop_->now_ms() < stop_deadline_ms_)) {
    loop_->run_once(stopping_ ? 50 : -1);
    context_->upstream.collect_retired();
    if (!accepting_ && !stopping_) {
      uint32_t limit = context_->config().limits.max_client_connections;
      if (limit == 0 || context_->client_count() < limit) set_accepting(true);
    }
  }
  // Past the deadline (or nothing left): close whatever remains.
  context_->close_all_clients();
  context_->upstream.close_idle_pools();
  loop_->run_once(0);  // destroy retired handlers
  context_.reset();
  loop_.reset();
}

void Worker::set_accepting(bool accepting) {
  if (accepting == accepting_) return;
  for (ListenerSlot& entry : listeners_) {
    if (!entry.listener.valid()) continue;
    if (accepting) {
      loop_->add_level_read(entry.listener.fd(), entry.handler.get());
    } else {
      loop_->remove(entry.listener.fd());
    }
  }
  accepting_ = accepting;
}

void Worker::begin_stop(uint32_t deadline_ms) {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ms_ = loop_->now_ms() + deadline_ms;
  set_accepting(false);
  for (ListenerSlot& entry : listeners_) entry.listener.close();
  for (auto& retiring : retiring_) close_retiring(std::move(retiring));
  retiring_.clear();
  context_->begin_drain();
}

void Worker::accept_connections(net::Listener& listener, uint16_t slot, int max_batch) {
  const uint32_t limit = context_->config().limits.max_client_connections;
  for (int batch = 0; batch < max_batch; ++batch) {
    if (limit > 0 && context_->client_count() >= limit) {
      // Full: new connections wait in the kernel's backlog until one closes.
      set_accepting(false);
      return;
    }
    reactor::UniqueFd fd;
    sockaddr_storage peer{};
    int error_number = 0;
    switch (listener.accept_one(fd, peer, error_number)) {
      case net::Listener::AcceptStatus::accepted: {
        // Denied, or over its connections: closed at once (the fd closes here).
        protection::ConnectionTicket ticket;
        if (!context_->edge.admit(context_->config().protection, peer, ticket)) continue;
        if (context_->config().mode == proxy::ProxyMode::tcp) {
          proxy::FrontendConnection* connection = proxy::TcpConnection::accept(*context_, std::move(fd), peer);
          if (connection) connection->client_ticket = std::move(ticket);
        } else {
          proxy::ClientConnection::accept(*context_, std::move(fd), peer, slot, std::move(ticket));
        }
        continue;
      }
      case net::Listener::AcceptStatus::would_block: return;
      case net::Listener::AcceptStatus::out_of_fds: {
        // Shed the connection instead of spinning on a listener that stays readable.
        listener.shed_one();
        if (loop_->now_ms() - last_fd_error_ms_ >= 1000) {
          last_fd_error_ms_ = loop_->now_ms();
          char message[128];
          std::snprintf(message, sizeof(message), "accept: %s; shedding new connections", std::strerror(error_number));
          context_->emit_error("LB_ERR_ACCEPT", message);
        }
        continue;
      }
      case net::Listener::AcceptStatus::failed: continue;
    }
  }
}

}  // namespace lb::runtime
