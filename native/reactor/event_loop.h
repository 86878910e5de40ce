// One edge-triggered epoll loop per worker thread.
//
// Every socket is registered once, for EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, and never
// modified: handlers remember readiness themselves (read until EAGAIN or a short read,
// write until EAGAIN), which saves an epoll_ctl per state change.
//
// Handlers are dispatched by pointer. A handler closed while events for it are still
// queued in the same batch is only destroyed at the end of the iteration (retire()), and
// its `closed()` check makes those stale events no-ops, even when its fd number has
// already been reused by a new socket.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "reactor/clock.h"
#include "reactor/timer_wheel.h"
#include "reactor/unique_fd.h"

namespace lb::reactor {

class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR).
  virtual void on_events(uint32_t events) = 0;
  bool closed() const { return closed_; }
  // Dispatched before every other handler of its batch (see run_once).
  bool dispatch_first() const { return dispatch_first_; }

 protected:
  bool closed_ = false;
  bool dispatch_first_ = false;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool valid() const { return epoll_fd_.valid(); }

  // Registers `fd` for edge-triggered read and write readiness. Returns false (errno set)
  // on failure.
  bool add(int fd, EventHandler* handler);
  // Registers `fd` for level-triggered read readiness only (listeners, eventfds).
  bool add_level_read(int fd, EventHandler* handler);
  void remove(int fd);

  // Takes ownership of a handler that has closed itself; it is deleted at the end of the
  // current iteration, after every queued event for it has been skipped.
  void retire(EventHandler* handler);

  // Waits for events (or the next timer tick) and dispatches them, then fires due timers
  // and destroys retired handlers. `max_wait_ms` < 0 waits as long as the timers allow.
  void run_once(int max_wait_ms = -1);

  TimerWheel& timers() { return timers_; }
  // Counts run_once calls: lets a caller tell "earlier in this iteration" from "before".
  uint64_t iteration() const { return iteration_; }
  // The clock as read once when the last epoll_wait returned, before any handler ran:
  // every timer and timestamp of one iteration uses it (one clock read per iteration,
  // not several per request, and never a reading from before the sleep).
  uint64_t now_ms() const { return clock_.now_ms(); }
  uint64_t now_us() const { return clock_.now_us(); }

 private:
  static constexpr int kMaxEvents = 256;
  UniqueFd epoll_fd_;
  LoopClock clock_;  // before timers_, which reads it
  uint64_t iteration_ = 0;
  TimerWheel timers_;
  std::vector<EventHandler*> retired_;
  epoll_event events_[kMaxEvents];
};

}  // namespace lb::reactor
