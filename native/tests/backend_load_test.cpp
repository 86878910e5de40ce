// maxConnections' admission count: shared by worker threads, never above the limit.
#include <atomic>
#include <thread>
#include <vector>

#include "stats/backend_load.h"
#include "tests/test_framework.h"

TEST(backend_load_never_admits_past_its_limit_across_threads) {
  lb::stats::BackendLoad load;
  constexpr uint32_t kMax = 2;
  std::atomic<uint32_t> held{0};
  std::atomic<bool> over{false};
  std::atomic<uint64_t> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50000; ++i) {
        if (!load.try_acquire(kMax)) continue;
        admitted.fetch_add(1);
        if (held.fetch_add(1) + 1 > kMax) over = true;
        held.fetch_sub(1);
        load.release();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(!over.load());
  CHECK(admitted.load() > 0);
  CHECK_EQ(load.in_flight.load(), 0u);
}

TEST(backend_load_refuses_at_zero_room) {
  lb::stats::BackendLoad load;
  CHECK(load.try_acquire(1));
  CHECK(!load.try_acquire(1));
  CHECK(load.try_acquire(2));
  load.release();
  load.release();
  CHECK(load.try_acquire(1));
}
