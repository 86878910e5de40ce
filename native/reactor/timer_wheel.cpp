#include "reactor/timer_wheel.h"

namespace lb::reactor {

Timer::~Timer() {
  if (wheel_) wheel_->disarm(*this);
}

TimerWheel::TimerWheel(const LoopClock& clock) : clock_(clock), current_tick_(clock.now_ms() / kTickMs) {}

TimerWheel::~TimerWheel() {
  for (Timer*& head : slots_) {
    while (head) disarm(*head);
  }
}

void TimerWheel::link(Timer& timer) {
  Timer*& head = slots_[(timer.deadline_ms_ / kTickMs) % kSlots];
  timer.prev_ = nullptr;
  timer.next_ = head;
  if (head) head->prev_ = &timer;
  head = &timer;
  timer.wheel_ = this;
}

void TimerWheel::arm(Timer& timer, uint64_t delay_ms) {
  if (timer.wheel_) disarm(timer);
  // Deadlines are rounded up to a tick boundary, so when advance() visits a tick every
  // timer of this turn in its slot is due; and they land strictly after the current tick,
  // so a timer never fires early nor in a slot already passed.
  uint64_t deadline_tick = (clock_.now_ms() + delay_ms + kTickMs - 1) / kTickMs;
  if (deadline_tick <= current_tick_) deadline_tick = current_tick_ + 1;
  timer.deadline_ms_ = deadline_tick * kTickMs;
  link(timer);
  ++armed_count_;
}

void TimerWheel::disarm(Timer& timer) {
  if (!timer.wheel_) return;
  if (timer.prev_) {
    timer.prev_->next_ = timer.next_;
  } else {
    slots_[(timer.deadline_ms_ / kTickMs) % kSlots] = timer.next_;
  }
  if (timer.next_) timer.next_->prev_ = timer.prev_;
  timer.prev_ = timer.next_ = nullptr;
  timer.wheel_ = nullptr;
  --armed_count_;
}

void TimerWheel::advance() {
  const uint64_t now_ms = clock_.now_ms();
  uint64_t target_tick = now_ms / kTickMs;
  // After a long sleep, one full turn visits every slot once; that is enough.
  uint64_t first = current_tick_ + 1;
  if (target_tick >= first + kSlots) first = target_tick - kSlots + 1;
  for (uint64_t tick = first; tick <= target_tick; ++tick) {
    current_tick_ = tick;
    if (armed_count_ == 0) continue;
    // A handler may arm or disarm any timer, including others in this slot, so after each
    // firing the scan restarts from the slot's head; timers not yet due stay where they are.
    Timer* timer = slots_[tick % kSlots];
    while (timer) {
      if (timer->deadline_ms_ <= now_ms) {
        disarm(*timer);
        timer->handler_->on_timer(*timer);
        timer = slots_[tick % kSlots];
      } else {
        timer = timer->next_;
      }
    }
  }
  current_tick_ = target_tick;
}

int TimerWheel::poll_timeout_ms() const {
  if (armed_count_ == 0) return -1;
  return static_cast<int>(kTickMs);
}

}  // namespace lb::reactor
