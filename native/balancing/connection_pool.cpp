#include "balancing/connection_pool.h"

#include <algorithm>

namespace lb::balancing {

proxy::BackendConnection* ConnectionPool::take() {
  if (idle_.empty()) return nullptr;
  proxy::BackendConnection* connection = idle_.back();
  idle_.pop_back();
  return connection;
}

bool ConnectionPool::park(proxy::BackendConnection* connection, size_t max_idle) {
  if (idle_.size() >= max_idle) return false;
  idle_.push_back(connection);
  return true;
}

void ConnectionPool::forget(proxy::BackendConnection* connection) {
  auto it = std::find(idle_.begin(), idle_.end(), connection);
  if (it != idle_.end()) idle_.erase(it);
}

}  // namespace lb::balancing
