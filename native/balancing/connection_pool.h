// Idle keep-alive connections to one backend, owned by one worker. Most recently used
// first, so a quiet period lets the oldest ones reach their idle timeout and close while
// the busy ones stay warm.
#pragma once

#include <cstddef>
#include <vector>

namespace lb::proxy {
class BackendConnection;
}

namespace lb::balancing {

class ConnectionPool {
 public:
  // Takes the most recently parked connection, or nullptr.
  proxy::BackendConnection* take();
  // Parks a connection; false when the pool is full (the caller closes it).
  bool park(proxy::BackendConnection* connection, size_t max_idle);
  // Forgets a parked connection that closed or timed out while idle.
  void forget(proxy::BackendConnection* connection);
  size_t size() const { return idle_.size(); }
  // Hands every parked connection to `close` and empties the pool.
  template <typename Close>
  void close_all(Close&& close) {
    std::vector<proxy::BackendConnection*> idle;
    idle.swap(idle_);
    for (proxy::BackendConnection* connection : idle) close(connection);
  }

 private:
  std::vector<proxy::BackendConnection*> idle_;
};

}  // namespace lb::balancing
