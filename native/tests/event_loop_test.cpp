// The event loop across real sleeps: the clock a handler sees is read after epoll_wait
// returns, so timers armed after a lull are timed from the wake-up (issue 14).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "reactor/clock.h"
#include "reactor/event_loop.h"
#include "tests/test_framework.h"

namespace {

// Reads a pipe; on its first bytes, arms a timer (as a connection arms its head or
// connect timeout when a request arrives).
struct PipeReader : lb::reactor::EventHandler, lb::reactor::TimerHandler {
  lb::reactor::EventLoop& loop;
  int fd;
  uint64_t delay_ms;
  lb::reactor::Timer timer{this};
  uint64_t armed_at_ms = 0;
  uint64_t fired_at_ms = 0;
  uint64_t clock_seen_ms = 0;

  PipeReader(lb::reactor::EventLoop& event_loop, int read_fd, uint64_t delay)
      : loop(event_loop), fd(read_fd), delay_ms(delay) {}
  void on_events(uint32_t) override {
    char sink[16];
    while (::read(fd, sink, sizeof(sink)) > 0) {
    }
    clock_seen_ms = loop.now_ms();
    armed_at_ms = lb::reactor::monotonic_ms();
    loop.timers().arm(timer, delay_ms);
  }
  void on_timer(lb::reactor::Timer&) override { fired_at_ms = lb::reactor::monotonic_ms(); }
};

}  // namespace

TEST(event_loop_timer_armed_after_idle_wait_is_not_due_at_once) {
  lb::reactor::EventLoop loop;
  CHECK(loop.valid());
  int fds[2];
  CHECK_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  PipeReader reader(loop, fds[0], 100);
  CHECK(loop.add_level_read(fds[0], &reader));
  loop.run_once(0);  // the clock's last reading before the lull

  // Nothing armed: the loop sleeps in epoll_wait(-1) until the writer wakes it.
  std::thread writer([fd = fds[1]] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    [[maybe_unused]] ssize_t written = ::write(fd, "x", 1);
  });
  loop.run_once();
  writer.join();
  CHECK(reader.armed_at_ms != 0);
  // The handler saw the clock of the wake-up, not of before the sleep...
  CHECK(reader.clock_seen_ms + 20 >= reader.armed_at_ms);
  // ...so the timer it armed did not fire in the same iteration.
  CHECK_EQ(reader.fired_at_ms, uint64_t{0});
  CHECK(reader.timer.armed());

  uint64_t give_up = lb::reactor::monotonic_ms() + 2000;
  while (reader.fired_at_ms == 0 && lb::reactor::monotonic_ms() < give_up) loop.run_once();
  CHECK(reader.fired_at_ms != 0);
  CHECK(reader.fired_at_ms - reader.armed_at_ms >= 100);
  CHECK(reader.fired_at_ms - reader.armed_at_ms < 1000);
  loop.remove(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
}
