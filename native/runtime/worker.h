// One worker thread: its own epoll loop, its own SO_REUSEPORT socket for each of the
// balancer's listeners, its own connections, pools and counters. It shares nothing mutable with other workers; the
// control plane reaches it only through its inbox.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/listener.h"
#include "proxy/proxy_config.h"
#include "reactor/event_loop.h"
#include "reactor/inbox.h"
#include "stats/worker_channels.h"

namespace lb::proxy {
class WorkerContext;
}

namespace lb::runtime {

class Worker {
 public:
  // `listeners`: one socket per configured listener, in configuration order (the index a
  // connection carries into ProxyConfig::listeners).
  Worker(uint16_t index, std::vector<net::Listener> listeners, std::shared_ptr<const proxy::ProxyConfig> config,
         stats::WorkerChannels& channels);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Any thread. The worker adopts the snapshot between two events.
  void publish(std::shared_ptr<const proxy::ProxyConfig> config);
  // Any thread. Ends a passive ejection of `backend_id` on this worker (active health
  // checks passed).
  void clear_ejection(uint32_t backend_id);
  // Any thread. Hands the worker a new socket for listener `slot` (a reload that changed
  // its address): it accepts on the new one at once. The old one goes on taking connections for a
  // deferral period and a margin (if it defers accept: see RetiringListener), and is
  // closed once what is queued on it has been taken.
  void replace_listener(size_t slot, net::Listener listener);
  // Any thread. Stops accepting at once, lets exchanges in flight finish for up to
  // `deadline_ms`, then closes everything and ends the thread.
  void request_stop(uint32_t deadline_ms);
  void join();

 private:
  class AcceptHandler;
  class RetiringListener;
  // One listener's socket and its readiness handler.
  struct ListenerSlot {
    net::Listener listener;
    std::unique_ptr<AcceptHandler> handler;
  };
  void adopt_listener(size_t slot, net::Listener listener);
  void retire_listener(uint16_t slot, net::Listener old);
  void finish_retiring(RetiringListener* retiring);
  // Unregisters and closes a retiring listener; the loop deletes it at the end of the turn.
  void close_retiring(std::unique_ptr<RetiringListener> retiring);
  void run();
  void begin_stop(uint32_t deadline_ms);
  // Accepts up to `max_batch` queued connections (fewer if the connection limit is hit).
  void accept_connections(net::Listener& listener, uint16_t slot, int max_batch);
  void set_accepting(bool accepting);

  const uint16_t index_;
  std::vector<ListenerSlot> listeners_;
  std::shared_ptr<const proxy::ProxyConfig> initial_config_;
  stats::WorkerChannels& channels_;
  std::unique_ptr<reactor::EventLoop> loop_;
  std::unique_ptr<reactor::Inbox> inbox_;
  // Listeners moved away from, still taking connections until their grace period ends.
  std::vector<std::unique_ptr<RetiringListener>> retiring_;
  std::unique_ptr<proxy::WorkerContext> context_;
  std::thread thread_;
  // Inbox commands are std::functions, which must be copyable: the listener waits here.
  std::vector<std::pair<size_t, net::Listener>> pending_listeners_;
  std::mutex pending_mutex_;
  bool accepting_ = false;
  bool stopping_ = false;
  uint64_t stop_deadline_ms_ = 0;
  uint64_t last_fd_error_ms_ = 0;
};

}  // namespace lb::runtime
