#include "reactor/inbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace lb::reactor {

Inbox::Inbox() : event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  // A command (a new configuration: a backend put in maintenance, a new weight) takes
  // effect before any request that arrives in the same batch, so one posted before a
  // request was sent always applies to it.
  dispatch_first_ = true;
}

void Inbox::post(Command command) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands_.push_back(std::move(command));
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(event_fd_.get(), &one, sizeof(one));
  (void)ignored;  // the counter saturating still leaves the eventfd readable
}

void Inbox::on_events(uint32_t) {
  uint64_t count;
  ssize_t ignored = ::read(event_fd_.get(), &count, sizeof(count));
  (void)ignored;
  std::deque<Command> batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batch.swap(commands_);
  }
  for (Command& command : batch) command();
}

}  // namespace lb::reactor
