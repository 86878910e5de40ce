// Idle keep-alive connections to one backend, owned by one worker. Most recently used
// first, so a quiet period lets the oldest ones reach their idle timeout and close while
// the busy ones stay warm.
//
// A connection parked during the current loop iteration is handed out only when none
// parked earlier is left, and then by `take_newest`, whose caller must look at the socket
// first: bytes a backend sent right after its response (a second, unsolicited response)
// are reported by the next epoll_wait, which has not run yet, and such a connection must
// be dropped instead of given a request whose answer those bytes would impersonate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lb::proxy {
class BackendConnection;
}

namespace lb::balancing {

class ConnectionPool {
 public:
  // Takes the most recently parked connection that was parked before `iteration`, or
  // nullptr.
  proxy::BackendConnection* take(uint64_t iteration);
  // Takes the most recently parked connection, whenever it was parked, or nullptr.
  proxy::BackendConnection* take_newest();
  // Parks a connection during `iteration`.
  void park(proxy::BackendConnection* connection, uint64_t iteration);
  // Forgets a parked connection that closed or timed out while idle.
  void forget(proxy::BackendConnection* connection);
  size_t size() const { return idle_.size(); }
  // Hands every parked connection to `close` and empties the pool.
  template <typename Close>
  void close_all(Close&& close) {
    std::vector<Entry> idle;
    idle.swap(idle_);
    for (const Entry& entry : idle) close(entry.connection);
  }

 private:
  struct Entry {
    proxy::BackendConnection* connection;
    uint64_t parked_iteration;
  };
  std::vector<Entry> idle_;
};

}  // namespace lb::balancing
