// Idle keep-alive connections to one backend, owned by one worker. Most recently used
// first, so a quiet period lets the oldest ones reach their idle timeout and close while
// the busy ones stay warm.
//
// A connection parked during the current loop iteration is not handed out until the next
// one: bytes a backend sends right after its response (a second, unsolicited response, or
// the real answer to a request that unsolicited bytes already answered) may still be on
// their way, and the next epoll_wait is what reports them, so that the connection is
// dropped instead of given a request whose answer they would impersonate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "upstream/pooled_connection.h"

namespace lb::upstream {

class ConnectionPool {
 public:
  // Takes the most recently parked connection that was parked before `iteration`, or
  // nullptr.
  PooledConnection* take(uint64_t iteration);
  // Parks a connection during `iteration`.
  void park(PooledConnection* connection, uint64_t iteration);
  // Forgets a parked connection that closed or timed out while idle.
  void forget(PooledConnection* connection);
  size_t size() const { return idle_.size(); }
  // Closes every parked connection and empties the pool.
  void close_all();

 private:
  struct Entry {
    PooledConnection* connection;
    uint64_t parked_iteration;
  };
  std::vector<Entry> idle_;
};

}  // namespace lb::upstream
