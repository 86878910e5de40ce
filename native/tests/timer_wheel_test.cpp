#include <vector>

#include "core/timer_wheel.h"
#include "tests/test_framework.h"

namespace {

struct Recorder : lb::core::TimerHandler {
  std::vector<int> fired;
  int id = 0;
  void on_timer(lb::core::Timer&) override { fired.push_back(id); }
};

}  // namespace

TEST(timer_fires_at_deadline_not_before) {
  lb::core::TimerWheel wheel(1000);
  Recorder recorder;
  recorder.id = 1;
  lb::core::Timer timer(&recorder);
  wheel.arm(timer, 100);
  wheel.advance(1050);
  CHECK(recorder.fired.empty());
  wheel.advance(1099);
  CHECK(recorder.fired.empty());
  wheel.advance(1110);
  CHECK_EQ(recorder.fired.size(), size_t{1});
  CHECK(!timer.armed());
  CHECK_EQ(wheel.armed_count(), size_t{0});
}

TEST(timer_rearm_moves_deadline) {
  lb::core::TimerWheel wheel(0);
  Recorder recorder;
  lb::core::Timer timer(&recorder);
  wheel.arm(timer, 50);
  wheel.advance(40);
  wheel.arm(timer, 50);  // now due at 90
  wheel.advance(60);
  CHECK(recorder.fired.empty());
  wheel.advance(100);
  CHECK_EQ(recorder.fired.size(), size_t{1});
}

TEST(timer_longer_than_one_turn_waits_its_turns) {
  lb::core::TimerWheel wheel(0);
  Recorder recorder;
  lb::core::Timer timer(&recorder);
  uint64_t turn = lb::core::TimerWheel::kTickMs * lb::core::TimerWheel::kSlots;
  wheel.arm(timer, turn * 2 + 5);
  for (uint64_t now = 0; now < turn * 2; now += 7) wheel.advance(now);
  CHECK(recorder.fired.empty());
  wheel.advance(turn * 2 + 20);
  CHECK_EQ(recorder.fired.size(), size_t{1});
}

TEST(timer_disarm_and_destructor_unlink) {
  lb::core::TimerWheel wheel(0);
  Recorder recorder;
  {
    lb::core::Timer scoped(&recorder);
    wheel.arm(scoped, 10);
    CHECK_EQ(wheel.armed_count(), size_t{1});
  }
  CHECK_EQ(wheel.armed_count(), size_t{0});
  lb::core::Timer timer(&recorder);
  wheel.arm(timer, 10);
  wheel.disarm(timer);
  wheel.advance(1000);
  CHECK(recorder.fired.empty());
}

namespace {
// A handler that disarms another timer in the same slot when it fires.
struct Disarmer : lb::core::TimerHandler {
  lb::core::TimerWheel* wheel = nullptr;
  lb::core::Timer* victim = nullptr;
  int fired = 0;
  void on_timer(lb::core::Timer&) override {
    ++fired;
    if (victim) wheel->disarm(*victim);
  }
};
}  // namespace

TEST(timer_handler_may_disarm_a_sibling) {
  lb::core::TimerWheel wheel(0);
  Disarmer a;
  Disarmer b;
  lb::core::Timer timer_a(&a);
  lb::core::Timer timer_b(&b);
  a.wheel = b.wheel = &wheel;
  a.victim = &timer_b;
  b.victim = &timer_a;
  wheel.arm(timer_a, 20);
  wheel.arm(timer_b, 20);
  wheel.advance(100);
  CHECK_EQ(a.fired + b.fired, 1);  // whichever fired first cancelled the other
  CHECK_EQ(wheel.armed_count(), size_t{0});
}

TEST(timer_long_sleep_fires_everything_due_once) {
  lb::core::TimerWheel wheel(0);
  Recorder recorder;
  std::vector<lb::core::Timer*> timers;
  for (int i = 0; i < 50; ++i) {
    timers.push_back(new lb::core::Timer(&recorder));
    wheel.arm(*timers.back(), static_cast<uint64_t>(i) * 300);
  }
  wheel.advance(1000000);
  CHECK_EQ(recorder.fired.size(), size_t{50});
  for (auto* timer : timers) delete timer;
}
