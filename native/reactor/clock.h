// Monotonic time, and the one clock each event loop keeps.
//
// A loop reads the monotonic clock once per iteration, right after epoll_wait returns and
// before any handler runs, and every timer and timestamp of that iteration uses that
// reading. Nothing else in a loop keeps its own notion of "now": a copy taken before a
// sleep would be stale after it (a timer armed from it would be due at once).
#pragma once

#include <time.h>

#include <cstdint>

namespace lb::reactor {

inline uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

inline uint64_t monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// The reading shared by a loop and its timer wheel. CLOCK_MONOTONIC never goes back, so
// a wall-clock jump (NTP, an operator's `date -s`) cannot fire or stall timers.
class LoopClock {
 public:
  LoopClock() { update(); }
  explicit LoopClock(uint64_t now_us) : now_us_(now_us) {}

  // Reads the monotonic clock (the event loop calls it once per iteration).
  void update() { set_us(monotonic_us()); }
  // Moves the reading to `now_us`; a reading earlier than the current one is ignored.
  void set_us(uint64_t now_us) {
    if (now_us > now_us_) now_us_ = now_us;
  }

  uint64_t now_us() const { return now_us_; }
  uint64_t now_ms() const { return now_us_ / 1000; }

 private:
  uint64_t now_us_ = 0;
};

}  // namespace lb::reactor
