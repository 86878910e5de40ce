#include "balancing/connection_pool.h"
#include "tests/test_framework.h"

// The pool only stores pointers; these stand in for connections and are never used as such.
namespace {
lb::proxy::BackendConnection* fake(uintptr_t n) {
  return reinterpret_cast<lb::proxy::BackendConnection*>(n * 16);
}
}  // namespace

TEST(pool_take_is_most_recent_first) {
  lb::balancing::ConnectionPool pool;
  pool.park(fake(1), 1);
  pool.park(fake(2), 2);
  CHECK(pool.take(5) == fake(2));
  CHECK(pool.take(5) == fake(1));
  CHECK(pool.take(5) == nullptr);
}

TEST(pool_take_skips_connections_parked_this_iteration) {
  lb::balancing::ConnectionPool pool;
  pool.park(fake(1), 3);
  pool.park(fake(2), 4);
  // In iteration 4 only the one parked in 3 is settled.
  CHECK(pool.take(4) == fake(1));
  CHECK(pool.take(4) == nullptr);
  CHECK_EQ(pool.size(), size_t{1});
  // The next iteration may have it.
  CHECK(pool.take(5) == fake(2));
}

TEST(pool_forget_and_close_all) {
  lb::balancing::ConnectionPool pool;
  pool.park(fake(1), 1);
  pool.park(fake(2), 1);
  pool.park(fake(3), 1);
  pool.forget(fake(2));
  CHECK_EQ(pool.size(), size_t{2});
  CHECK(pool.take(2) == fake(3));
  size_t closed = 0;
  pool.close_all([&](lb::proxy::BackendConnection* c) {
    CHECK(c == fake(1));
    ++closed;
  });
  CHECK_EQ(closed, size_t{1});
  CHECK_EQ(pool.size(), size_t{0});
}
