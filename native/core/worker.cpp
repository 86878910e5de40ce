#include "core/worker.h"

#include <cstdio>
#include <cstring>

#include "proxy/client_connection.h"
#include "proxy/tcp_connection.h"
#include "proxy/worker_context.h"

namespace lb::core {

// The listener's readiness, level-triggered: the accept loop takes a bounded batch per
// wake-up so one busy listener cannot starve the connections already open.
class Worker::AcceptHandler final : public EventHandler {
 public:
  explicit AcceptHandler(Worker& worker) : worker_(worker) {}
  void on_events(uint32_t) override { worker_.accept_connections(worker_.listener_); }

 private:
  Worker& worker_;
};

Worker::Worker(uint16_t index, net::Listener listener,
               std::shared_ptr<const proxy::ProxyConfig> config, stats::WorkerChannels& channels)
    : index_(index),
      listener_(std::move(listener)),
      initial_config_(std::move(config)),
      channels_(channels),
      inbox_(std::make_unique<Inbox>()) {}

Worker::~Worker() { join(); }

void Worker::start() { thread_ = std::thread([this] { run(); }); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::publish(std::shared_ptr<const proxy::ProxyConfig> config) {
  inbox_->post([this, config = std::move(config)]() mutable {
    if (!stopping_) context_->adopt(std::move(config));
  });
}

void Worker::replace_listener(net::Listener listener) {
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    pending_listeners_.push_back(std::move(listener));
  }
  inbox_->post([this] {
    std::vector<net::Listener> listeners;
    {
      std::lock_guard<std::mutex> lock(pending_mutex_);
      listeners.swap(pending_listeners_);
    }
    for (net::Listener& next : listeners) adopt_listener(std::move(next));
  });
}

void Worker::adopt_listener(net::Listener listener) {
  if (stopping_) return;
  net::Listener old = std::move(listener_);
  bool was_accepting = accepting_;
  if (was_accepting) loop_->remove(old.fd());
  accepting_ = false;
  listener_ = std::move(listener);
  set_accepting(true);
  // Connections the kernel already queued on the old socket are taken before it closes.
  if (old.valid()) accept_connections(old);
  old.close();
}

void Worker::request_stop(uint32_t deadline_ms) {
  inbox_->post([this, deadline_ms] { begin_stop(deadline_ms); });
}

void Worker::run() {
  loop_ = std::make_unique<EventLoop>();
  context_ = std::make_unique<proxy::WorkerContext>(index_, *loop_, channels_,
                                                    std::move(initial_config_));
  accept_handler_ = std::make_unique<AcceptHandler>(*this);
  loop_->add_level_read(inbox_->fd(), inbox_.get());
  set_accepting(true);

  while (!stopping_ || (context_->client_count() > 0 && loop_->now_ms() < stop_deadline_ms_)) {
    loop_->run_once(stopping_ ? 50 : -1);
    context_->collect_retired();
    if (!accepting_ && !stopping_) {
      uint32_t limit = context_->config().limits.max_client_connections;
      if (limit == 0 || context_->client_count() < limit) set_accepting(true);
    }
  }
  // Past the deadline (or nothing left): close whatever remains.
  context_->close_all_clients();
  context_->close_idle_pools();
  loop_->run_once(0);  // destroy retired handlers
  context_.reset();
  loop_.reset();
}

void Worker::set_accepting(bool accepting) {
  if (accepting == accepting_ || !listener_.valid()) return;
  if (accepting) {
    loop_->add_level_read(listener_.fd(), accept_handler_.get());
  } else {
    loop_->remove(listener_.fd());
  }
  accepting_ = accepting;
}

void Worker::begin_stop(uint32_t deadline_ms) {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ms_ = loop_->now_ms() + deadline_ms;
  set_accepting(false);
  listener_.close();
  context_->begin_drain();
}

// New connections taken per loop iteration. Small, so that accepting interleaves with the
// work of the connections already open: a burst of connections accepted in one go sends
// their requests to the backends as one lump, and their answers come back as one (the
// listener is level-triggered, so what is left is reported again next iteration).
constexpr int kAcceptBatch = 8;

void Worker::accept_connections(net::Listener& listener) {
  const uint32_t limit = context_->config().limits.max_client_connections;
  for (int batch = 0; batch < kAcceptBatch; ++batch) {
    if (limit > 0 && context_->client_count() >= limit) {
      // Full: new connections wait in the kernel's backlog until one closes.
      set_accepting(false);
      return;
    }
    UniqueFd fd;
    sockaddr_storage peer{};
    int error_number = 0;
    switch (listener.accept_one(fd, peer, error_number)) {
      case net::Listener::AcceptStatus::accepted:
        if (context_->config().mode == proxy::ProxyMode::tcp) {
          proxy::TcpConnection::accept(*context_, std::move(fd), peer);
        } else {
          proxy::ClientConnection::accept(*context_, std::move(fd), peer);
        }
        continue;
      case net::Listener::AcceptStatus::would_block:
        return;
      case net::Listener::AcceptStatus::out_of_fds: {
        // Shed the connection instead of spinning on a listener that stays readable.
        listener.shed_one();
        if (loop_->now_ms() - last_fd_error_ms_ >= 1000) {
          last_fd_error_ms_ = loop_->now_ms();
          char message[128];
          std::snprintf(message, sizeof(message), "accept: %s; shedding new connections",
                        std::strerror(error_number));
          context_->emit_error("LB_ERR_ACCEPT", message);
        }
        continue;
      }
      case net::Listener::AcceptStatus::failed:
        continue;
    }
  }
}

}  // namespace lb::core
