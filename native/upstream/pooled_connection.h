// What the idle pool needs from a backend connection: to be closed when the pool is
// emptied. The pool holds no other knowledge of the connection (the proxy layer's
// BackendConnection implements it), so upstream/ never reaches up into proxy/.
#pragma once

namespace lb::upstream {

class PooledConnection {
 public:
  virtual void close() = 0;

 protected:
  ~PooledConnection() = default;
};

}  // namespace lb::upstream
