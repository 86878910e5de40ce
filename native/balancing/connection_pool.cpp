#include "balancing/connection_pool.h"

#include <algorithm>

namespace lb::balancing {

proxy::BackendConnection* ConnectionPool::take(uint64_t iteration) {
  for (size_t i = idle_.size(); i > 0; --i) {
    if (idle_[i - 1].parked_iteration < iteration) {
      proxy::BackendConnection* connection = idle_[i - 1].connection;
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i - 1));
      return connection;
    }
  }
  return nullptr;
}

void ConnectionPool::park(proxy::BackendConnection* connection, uint64_t iteration) {
  idle_.push_back({connection, iteration});
}

void ConnectionPool::forget(proxy::BackendConnection* connection) {
  auto it = std::find_if(idle_.begin(), idle_.end(),
                         [connection](const Entry& entry) { return entry.connection == connection; });
  if (it != idle_.end()) idle_.erase(it);
}

}  // namespace lb::balancing
