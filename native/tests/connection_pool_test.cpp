#include <vector>

#include "tests/test_framework.h"
#include "upstream/connection_pool.h"

namespace {
// Stands in for a backend connection: records that the pool closed it.
struct FakeConnection final : lb::upstream::PooledConnection {
  int closes = 0;
  void close() override { ++closes; }
};
}  // namespace

TEST(pool_take_is_most_recent_first) {
  lb::upstream::ConnectionPool pool;
  FakeConnection one, two;
  pool.park(&one, 1);
  pool.park(&two, 2);
  CHECK(pool.take(5) == &two);
  CHECK(pool.take(5) == &one);
  CHECK(pool.take(5) == nullptr);
}

TEST(pool_take_skips_connections_parked_this_iteration) {
  lb::upstream::ConnectionPool pool;
  FakeConnection one, two;
  pool.park(&one, 3);
  pool.park(&two, 4);
  // In iteration 4 only the one parked in 3 is settled.
  CHECK(pool.take(4) == &one);
  CHECK(pool.take(4) == nullptr);
  CHECK_EQ(pool.size(), size_t{1});
  // The next iteration may have it.
  CHECK(pool.take(5) == &two);
}

TEST(pool_forget_and_close_all) {
  lb::upstream::ConnectionPool pool;
  FakeConnection one, two, three;
  pool.park(&one, 1);
  pool.park(&two, 1);
  pool.park(&three, 1);
  pool.forget(&two);
  CHECK_EQ(pool.size(), size_t{2});
  CHECK(pool.take(2) == &three);
  pool.close_all();
  CHECK_EQ(one.closes, 1);
  CHECK_EQ(two.closes, 0);
  CHECK_EQ(three.closes, 0);
  CHECK_EQ(pool.size(), size_t{0});
}
