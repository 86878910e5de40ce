#include <vector>

#include "reactor/timer_wheel.h"
#include "tests/test_framework.h"

namespace {

// Moves the loop's clock to `now_ms` and fires what is due, as one loop iteration does.
void advance_to(lb::reactor::LoopClock& clock, lb::reactor::TimerWheel& wheel, uint64_t now_ms) {
  clock.set_us(now_ms * 1000);
  wheel.advance();
}

struct Recorder : lb::reactor::TimerHandler {
  std::vector<int> fired;
  int id = 0;
  void on_timer(lb::reactor::Timer&) override { fired.push_back(id); }
};

}  // namespace

TEST(timer_fires_at_deadline_not_before) {
  lb::reactor::LoopClock clock(uint64_t{1000} * 1000);
  lb::reactor::TimerWheel wheel(clock);
  Recorder recorder;
  recorder.id = 1;
  lb::reactor::Timer timer(&recorder);
  wheel.arm(timer, 100);
  advance_to(clock, wheel, 1050);
  CHECK(recorder.fired.empty());
  advance_to(clock, wheel, 1099);
  CHECK(recorder.fired.empty());
  advance_to(clock, wheel, 1110);
  CHECK_EQ(recorder.fired.size(), size_t{1});
  CHECK(!timer.armed());
  CHECK_EQ(wheel.armed_count(), size_t{0});
}

TEST(timer_rearm_moves_deadline) {
  lb::reactor::LoopClock clock(uint64_t{0} * 1000);
  lb::reactor::TimerWheel wheel(clock);
  Recorder recorder;
  lb::reactor::Timer timer(&recorder);
  wheel.arm(timer, 50);
  advance_to(clock, wheel, 40);
  wheel.arm(timer, 50);  // now due at 90
  advance_to(clock, wheel, 60);
  CHECK(recorder.fired.empty());
  advance_to(clock, wheel, 100);
  CHECK_EQ(recorder.fired.size(), size_t{1});
}

TEST(timer_longer_than_one_turn_waits_its_turns) {
  lb::reactor::LoopClock clock(uint64_t{0} * 1000);
  lb::reactor::TimerWheel wheel(clock);
  Recorder recorder;
  lb::reactor::Timer timer(&recorder);
  uint64_t turn = lb::reactor::TimerWheel::kTickMs * lb::reactor::TimerWheel::kSlots;
  wheel.arm(timer, turn * 2 + 5);
  for (uint64_t now = 0; now < turn * 2; now += 7) advance_to(clock, wheel, now);
  CHECK(recorder.fired.empty());
  advance_to(clock, wheel, turn * 2 + 20);
  CHECK_EQ(recorder.fired.size(), size_t{1});
}

TEST(timer_disarm_and_destructor_unlink) {
  lb::reactor::LoopClock clock(uint64_t{0} * 1000);
  lb::reactor::TimerWheel wheel(clock);
  Recorder recorder;
  {
    lb::reactor::Timer scoped(&recorder);
    wheel.arm(scoped, 10);
    CHECK_EQ(wheel.armed_count(), size_t{1});
  }
  CHECK_EQ(wheel.armed_count(), size_t{0});
  lb::reactor::Timer timer(&recorder);
  wheel.arm(timer, 10);
  wheel.disarm(timer);
  advance_to(clock, wheel, 1000);
  CHECK(recorder.fired.empty());
}

namespace {
// A handler that disarms another timer in the same slot when it fires.
struct Disarmer : lb::reactor::TimerHandler {
  lb::reactor::TimerWheel* wheel = nullptr;
  lb::reactor::Timer* victim = nullptr;
  int fired = 0;
  void on_timer(lb::reactor::Timer&) override {
    ++fired;
    if (victim) wheel->disarm(*victim);
  }
};
}  // namespace

TEST(timer_handler_may_disarm_a_sibling) {
  lb::reactor::LoopClock clock(uint64_t{0} * 1000);
  lb::reactor::TimerWheel wheel(clock);
  Disarmer a;
  Disarmer b;
  lb::reactor::Timer timer_a(&a);
  lb::reactor::Timer timer_b(&b);
  a.wheel = b.wheel = &wheel;
  a.victim = &timer_b;
  b.victim = &timer_a;
  wheel.arm(timer_a, 20);
  wheel.arm(timer_b, 20);
  advance_to(clock, wheel, 100);
  CHECK_EQ(a.fired + b.fired, 1);  // whichever fired first cancelled the other
  CHECK_EQ(wheel.armed_count(), size_t{0});
}

TEST(timer_long_sleep_fires_everything_due_once) {
  lb::reactor::LoopClock clock(uint64_t{0} * 1000);
  lb::reactor::TimerWheel wheel(clock);
  Recorder recorder;
  std::vector<lb::reactor::Timer*> timers;
  for (int i = 0; i < 50; ++i) {
    timers.push_back(new lb::reactor::Timer(&recorder));
    wheel.arm(*timers.back(), static_cast<uint64_t>(i) * 300);
  }
  advance_to(clock, wheel, 1000000);
  CHECK_EQ(recorder.fired.size(), size_t{50});
  for (auto* timer : timers) delete timer;
}

// Issue 14: the loop slept with no timer armed; a handler woken after the sleep arms a
// timer. It must be timed from the wake-up, not from the last reading before the sleep.
TEST(timer_armed_after_a_long_idle_sleep_is_timed_from_the_wake_up) {
  lb::reactor::LoopClock clock(uint64_t{1000} * 1000);
  lb::reactor::TimerWheel wheel(clock);
  advance_to(clock, wheel, 1000);
  // Twelve seconds pass with nothing armed; the loop reads the clock when it wakes,
  // before the handler runs.
  clock.set_us(uint64_t{13000} * 1000);
  Recorder recorder;
  lb::reactor::Timer timer(&recorder);
  wheel.arm(timer, 100);
  CHECK(timer.deadline_ms() >= 13100 && timer.deadline_ms() < 13100 + lb::reactor::TimerWheel::kTickMs);
  wheel.advance();  // the end of the same iteration
  CHECK(recorder.fired.empty());
  advance_to(clock, wheel, 13099);
  CHECK(recorder.fired.empty());
  advance_to(clock, wheel, 13100 + lb::reactor::TimerWheel::kTickMs);
  CHECK_EQ(recorder.fired.size(), size_t{1});
}

TEST(loop_clock_never_goes_back) {
  lb::reactor::LoopClock clock(5000);
  clock.set_us(4000);
  CHECK_EQ(clock.now_us(), uint64_t{5000});
  clock.set_us(9000);
  CHECK_EQ(clock.now_ms(), uint64_t{9});
}
