// maxConnections' queue on one worker (upstream/backend_queue.cpp), driven directly: the
// grants, and what happens when a grant gives its slot straight back.
#include <memory>
#include <vector>

#include "reactor/event_loop.h"
#include "stats/backend_counter_set.h"
#include "stats/worker_channels.h"
#include "tests/test_framework.h"
#include "upstream/backend_queue.h"
#include "upstream/upstream_group.h"

namespace {

using lb::upstream::UpstreamBackend;
using lb::upstream::UpstreamGroup;

// A waiter whose backend refuses connections at once: the grant's connect fails inside
// on_slot_granted, and the slot is given back before it returns.
struct RefusedWaiter final : lb::upstream::QueueWaiter {
  UpstreamGroup* group = nullptr;
  int* depth = nullptr;
  int* deepest = nullptr;
  bool granted = false;

  bool on_slot_granted(UpstreamBackend& backend, bool pool_counted) override {
    granted = true;
    ++*depth;
    if (*depth > *deepest) *deepest = *depth;
    // The slot it holds goes back: the pool breaker's, or the backend's maxConnections one.
    if (pool_counted) {
      group->give_pool_slot();
    } else {
      group->give_slot(backend.spec.id, backend.spec.counters->load());
    }
    --*depth;
    return true;
  }
  void on_queue_timeout(uint64_t) override {}
};

}  // namespace

TEST(backend_queue_grants_do_not_recurse_when_connects_fail_at_once) {
  lb::reactor::EventLoop loop;
  lb::stats::WorkerChannels channels;
  UpstreamGroup group(0, loop, channels);
  auto settings = std::make_shared<lb::upstream::UpstreamSettings>();
  lb::balancing::BackendSpec spec;
  spec.id = 7;
  spec.label = "127.0.0.1:1";
  spec.max_connections = 1;
  spec.counters = std::make_shared<lb::stats::BackendCounterSet>(1);
  settings->backends.push_back(spec);
  settings->queue.max_pending = 1000;
  group.adopt(settings);

  UpstreamBackend* backend = group.pick({});
  CHECK(backend != nullptr);
  bool pool_counted = false;
  CHECK(group.take_slot(*backend, pool_counted) == UpstreamGroup::Slot::counted);  // the one slot, held
  CHECK(!pool_counted);                                                            // no pool circuit breaker here

  constexpr int kWaiters = 800;
  int depth = 0;
  int deepest = 0;
  std::vector<RefusedWaiter> waiters(kWaiters);
  for (RefusedWaiter& waiter : waiters) {
    waiter.group = &group;
    waiter.depth = &depth;
    waiter.deepest = &deepest;
    CHECK(group.wait_for_slot(*backend, waiter));
  }
  // The held request ends: its slot goes to the first waiter, whose connect fails, and
  // so on down the queue. Every waiter gets its turn, one at a time, not one inside
  // another (before the fix the stack held all 800 grants at once).
  group.give_slot(spec.id, spec.counters->load());
  int granted = 0;
  for (const RefusedWaiter& waiter : waiters) granted += waiter.granted ? 1 : 0;
  CHECK_EQ(granted, kWaiters);
  CHECK_EQ(deepest, 1);
  CHECK_EQ(spec.counters->load().in_flight.load(), 0u);
  CHECK_EQ(spec.counters->load().queued.load(), 0u);
}

// The same with the pool's circuit breaker as the limit: a pool slot given back from inside
// a grant used to start another round of grants inside it (give_pool_slot had no guard).
TEST(pool_breaker_grants_do_not_recurse_when_connects_fail_at_once) {
  lb::reactor::EventLoop loop;
  lb::stats::WorkerChannels channels;
  UpstreamGroup group(0, loop, channels);
  auto settings = std::make_shared<lb::upstream::UpstreamSettings>();
  lb::balancing::BackendSpec spec;
  spec.id = 9;
  spec.label = "127.0.0.1:1";
  spec.counters = std::make_shared<lb::stats::BackendCounterSet>(1);
  settings->backends.push_back(spec);
  settings->queue.max_pending = 1000;
  settings->breaker.max_requests = 1;
  settings->breaker.max_pending_requests = 1000;
  settings->pool_load = std::make_shared<lb::upstream::PoolLoad>();
  group.adopt(settings);

  UpstreamBackend* backend = group.pick({});
  CHECK(backend != nullptr);
  bool pool_counted = false;
  CHECK(group.take_slot(*backend, pool_counted) == UpstreamGroup::Slot::admitted);  // the pool's one slot
  CHECK(pool_counted);

  constexpr int kWaiters = 800;
  int depth = 0;
  int deepest = 0;
  std::vector<RefusedWaiter> waiters(kWaiters);
  for (RefusedWaiter& waiter : waiters) {
    waiter.group = &group;
    waiter.depth = &depth;
    waiter.deepest = &deepest;
    CHECK(group.wait_for_slot(*backend, waiter));
  }
  group.give_pool_slot();
  int granted = 0;
  for (const RefusedWaiter& waiter : waiters) granted += waiter.granted ? 1 : 0;
  CHECK_EQ(granted, kWaiters);
  CHECK_EQ(deepest, 1);
  CHECK_EQ(settings->pool_load->active.load(), 0u);
  CHECK_EQ(settings->pool_load->pending.load(), 0u);
}
