#include "upstream/connection_pool.h"

#include <algorithm>

namespace lb::upstream {

PooledConnection* ConnectionPool::take(uint64_t iteration) {
  for (size_t i = idle_.size(); i > 0; --i) {
    if (idle_[i - 1].parked_iteration < iteration) {
      PooledConnection* connection = idle_[i - 1].connection;
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i - 1));
      return connection;
    }
  }
  return nullptr;
}

void ConnectionPool::park(PooledConnection* connection, uint64_t iteration) {
  idle_.push_back({connection, iteration});
}

void ConnectionPool::forget(PooledConnection* connection) {
  auto it = std::find_if(idle_.begin(), idle_.end(),
                         [connection](const Entry& entry) { return entry.connection == connection; });
  if (it != idle_.end()) idle_.erase(it);
}

void ConnectionPool::close_all() {
  // A connection's close() forgets itself from the pool: empty the pool first.
  std::vector<Entry> idle;
  idle.swap(idle_);
  for (const Entry& entry : idle) entry.connection->close();
}

}  // namespace lb::upstream
