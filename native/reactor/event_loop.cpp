#include "reactor/event_loop.h"

#include <cerrno>

namespace lb::reactor {

EventLoop::EventLoop() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)), timers_(clock_) {}

EventLoop::~EventLoop() {
  for (EventHandler* handler : retired_) delete handler;
}

bool EventLoop::add(int fd, EventHandler* handler) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = handler;
  return epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::add_level_read(int fd, EventHandler* handler) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = handler;
  return epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) { epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::retire(EventHandler* handler) { retired_.push_back(handler); }

void EventLoop::run_once(int max_wait_ms) {
  int timeout = timers_.poll_timeout_ms();
  if (!retired_.empty()) timeout = 0;
  if (max_wait_ms >= 0 && (timeout < 0 || max_wait_ms < timeout)) timeout = max_wait_ms;

  int n = epoll_wait(epoll_fd_.get(), events_, kMaxEvents, timeout);
  // The one clock read of this iteration, before any handler can arm a timer from it.
  clock_.update();
  ++iteration_;
  // Handlers that asked to go first (idle pooled backend connections) see their events
  // before anything else in the batch: a pooled connection that received a close or
  // bytes nobody asked for is dropped before any request in this batch can be given it.
  for (int i = 0; i < n; ++i) {
    auto* handler = static_cast<EventHandler*>(events_[i].data.ptr);
    if (handler->dispatch_first() && !handler->closed()) {
      handler->on_events(events_[i].events);
      events_[i].events = 0;
    }
  }
  for (int i = 0; i < n; ++i) {
    auto* handler = static_cast<EventHandler*>(events_[i].data.ptr);
    if (events_[i].events != 0 && !handler->closed()) handler->on_events(events_[i].events);
  }
  timers_.advance();
  // Handlers retired by a timer or an event are destroyed only now, when no queued event
  // can still point at them.
  while (!retired_.empty()) {
    std::vector<EventHandler*> batch;
    batch.swap(retired_);
    for (EventHandler* handler : batch) delete handler;
  }
}

}  // namespace lb::reactor
