// The control plane's way into a worker: a queue of commands and an eventfd that wakes
// the worker's loop. Only the control path (configuration changes, stop) takes its lock;
// the request path never touches it.
#pragma once

#include <deque>
#include <functional>
#include <mutex>

#include "reactor/event_loop.h"
#include "reactor/unique_fd.h"

namespace lb::reactor {

class Inbox final : public EventHandler {
 public:
  using Command = std::function<void()>;

  Inbox();
  bool valid() const { return event_fd_.valid(); }
  int fd() const { return event_fd_.get(); }

  // Any thread: queues a command for the worker and wakes its loop.
  void post(Command command);

  // The worker's loop: runs every queued command, in order.
  void on_events(uint32_t events) override;

 private:
  UniqueFd event_fd_;
  std::mutex mutex_;
  std::deque<Command> commands_;
};

}  // namespace lb::reactor
