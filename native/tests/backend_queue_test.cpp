// maxConnections' queue on one worker (upstream/backend_queue.cpp), driven directly: the
// grants, and what happens when a grant gives its slot straight back.
#include <cstdint>
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

// One worker's group over one backend that nothing listens on, with room for 1000 waiters.
// A test sets the limit it is about on `settings` or `spec`, then calls adopt().
struct QueueRig {
  lb::reactor::EventLoop loop;
  lb::stats::WorkerChannels channels;
  UpstreamGroup group{0, loop, channels};
  std::shared_ptr<lb::upstream::UpstreamSettings> settings = std::make_shared<lb::upstream::UpstreamSettings>();
  lb::balancing::BackendSpec spec;

  explicit QueueRig(uint32_t backend_id) {
    spec.id = backend_id;
    spec.label = "127.0.0.1:1";
    spec.counters = std::make_shared<lb::stats::BackendCounterSet>(1);
    settings->queue.max_pending = 1000;
  }

  // The group takes the settings with `spec` as its one backend; returns that backend.
  UpstreamBackend* adopt() {
    settings->backends.push_back(spec);
    group.adopt(settings);
    return group.pick({});
  }
};

// `count` refused waiters queued on `backend`, in order, sharing one nesting depth.
struct RefusedQueue {
  int depth = 0;
  int deepest = 0;
  std::vector<RefusedWaiter> waiters;

  RefusedQueue(UpstreamGroup& group, UpstreamBackend& backend, int count) : waiters(count) {
    for (RefusedWaiter& waiter : waiters) {
      waiter.group = &group;
      waiter.depth = &depth;
      waiter.deepest = &deepest;
      CHECK(group.wait_for_slot(backend, waiter));
    }
  }

  int granted() const {
    int n = 0;
    for (const RefusedWaiter& waiter : waiters) n += waiter.granted ? 1 : 0;
    return n;
  }
};

constexpr int kWaiters = 800;

}  // namespace

TEST(backend_queue_grants_do_not_recurse_when_connects_fail_at_once) {
  QueueRig rig(7);
  rig.spec.max_connections = 1;
  UpstreamBackend* backend = rig.adopt();
  CHECK(backend != nullptr);
  bool pool_counted = false;
  CHECK(rig.group.take_slot(*backend, pool_counted) == UpstreamGroup::Slot::counted);  // the one slot, held
  CHECK(!pool_counted);                                                                // no pool circuit breaker here

  RefusedQueue queue(rig.group, *backend, kWaiters);
  // The held request ends: its slot goes to the first waiter, whose connect fails, and
  // so on down the queue. Every waiter gets its turn, one at a time, not one inside
  // another (before the fix the stack held all 800 grants at once).
  rig.group.give_slot(rig.spec.id, rig.spec.counters->load());
  CHECK_EQ(queue.granted(), kWaiters);
  CHECK_EQ(queue.deepest, 1);
  CHECK_EQ(rig.spec.counters->load().in_flight.load(), 0u);
  CHECK_EQ(rig.spec.counters->load().queued.load(), 0u);
}

// The same with the pool's circuit breaker as the limit: a pool slot given back from inside
// a grant used to start another round of grants inside it (give_pool_slot had no guard).
TEST(pool_breaker_grants_do_not_recurse_when_connects_fail_at_once) {
  QueueRig rig(9);
  rig.settings->breaker.max_requests = 1;
  rig.settings->breaker.max_pending_requests = 1000;
  rig.settings->pool_load = std::make_shared<lb::upstream::PoolLoad>();
  UpstreamBackend* backend = rig.adopt();
  CHECK(backend != nullptr);
  bool pool_counted = false;
  CHECK(rig.group.take_slot(*backend, pool_counted) == UpstreamGroup::Slot::admitted);  // the pool's one slot
  CHECK(pool_counted);

  RefusedQueue queue(rig.group, *backend, kWaiters);
  rig.group.give_pool_slot();
  CHECK_EQ(queue.granted(), kWaiters);
  CHECK_EQ(queue.deepest, 1);
  CHECK_EQ(rig.settings->pool_load->active.load(), 0u);
  CHECK_EQ(rig.settings->pool_load->pending.load(), 0u);
}
