// A hashed timing wheel: O(1) arm, disarm and re-arm, which matters because every
// request re-arms its connection's timer. One wheel per worker, driven by the event loop.
// Timers are intrusive (a Timer lives inside the connection that owns it), so arming
// one never allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "reactor/clock.h"

namespace lb::reactor {

class Timer;

// Whoever owns a Timer implements this to be told that it fired.
class TimerHandler {
 public:
  virtual void on_timer(Timer& timer) = 0;

 protected:
  ~TimerHandler() = default;
};

class Timer {
 public:
  explicit Timer(TimerHandler* handler) : handler_(handler) {}
  ~Timer();  // disarms
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const { return wheel_ != nullptr; }
  uint64_t deadline_ms() const { return deadline_ms_; }

 private:
  friend class TimerWheel;
  TimerHandler* handler_;
  class TimerWheel* wheel_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  uint64_t deadline_ms_ = 0;
};

class TimerWheel {
 public:
  static constexpr uint64_t kTickMs = 8;
  static constexpr size_t kSlots = 1024;  // one turn covers ~8 s; longer timers wait turns

  // Deadlines are computed from `clock`, the loop's own reading, which the loop updates
  // before any handler of an iteration runs: a timer armed after a long sleep is timed
  // from the wake-up, not from before the sleep.
  explicit TimerWheel(const LoopClock& clock);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms (or re-arms) `timer` to fire at now + delay_ms (rounded up to the next tick).
  void arm(Timer& timer, uint64_t delay_ms);
  void disarm(Timer& timer);

  // Fires every timer whose deadline is <= the clock's now. A handler may arm or disarm
  // any timer.
  void advance();

  size_t armed_count() const { return armed_count_; }
  // How long the loop may sleep before the next tick that could hold a due timer.
  int poll_timeout_ms() const;

 private:
  void link(Timer& timer);
  Timer* slots_[kSlots] = {};
  const LoopClock& clock_;
  uint64_t current_tick_;  // every slot up to this tick has been processed
  size_t armed_count_ = 0;
};

}  // namespace lb::reactor
