// One TCP connection to a backend, and its state machine:
//
//   connecting --connected--> attached <--take/park--> idle
//        |                       |                       |
//        +-------- failed / timeout / EOF / error -------+--> closed
//
// While attached it carries exactly one exchange for one client connection (its owner)
// and only records readiness; the owner moves the bytes. While idle it sits in its
// backend's pool, still registered with epoll, so a backend that closes it (EOF, HUP,
// ERR) or sends bytes nobody asked for gets it dropped at once, never reused.
#pragma once

#include <cstdint>

#include "reactor/event_loop.h"
#include "reactor/timer_wheel.h"
#include "reactor/unique_fd.h"
#include "upstream/upstream_backend.h"

namespace lb::proxy {

class FrontendConnection;
class WorkerContext;

enum class BackendConnState : uint8_t { connecting, attached, idle, closed };
const char* to_string(BackendConnState state);

class BackendConnection final : public reactor::EventHandler,
                                public reactor::TimerHandler,
                                public upstream::PooledConnection {
 public:
  // Starts a non-blocking connect for `owner`. Returns nullptr (and `error`) if the
  // socket could not even be created or the connect failed at once.
  static BackendConnection* open(WorkerContext& context, upstream::UpstreamBackend& backend, FrontendConnection* owner,
                                 int& error);

  // Hands an idle pooled connection to a new owner.
  void attach(FrontendConnection* owner);
  // Returns this connection to its backend's pool, or closes it if the pool is full.
  void park();
  // Closes the socket and retires the object (deleted at the end of the loop iteration).
  void close() override;

  void on_events(uint32_t events) override;
  void on_timer(reactor::Timer& timer) override;

  // Response timeout (time without a byte from the backend while one is expected).
  void arm_response_timer();
  void disarm_timer();

  int fd() const { return fd_.get(); }
  BackendConnState state() const { return state_; }
  upstream::UpstreamBackend& backend() const { return *backend_; }
  bool reused() const { return reused_; }

  // Readiness and failure facts, beside the state (edge-triggered: remembered until a
  // read or write says EAGAIN).
  bool readable = false;
  bool writable = false;
  bool peer_closed = false;  // EOF read, or RDHUP/HUP seen
  bool failed = false;       // error on the socket

 private:
  BackendConnection(WorkerContext& context, upstream::UpstreamBackend& backend, reactor::UniqueFd fd);
  ~BackendConnection() override;
  void enter(BackendConnState next);
  void on_connect_result(uint32_t events);

  WorkerContext& context_;
  upstream::UpstreamBackend* backend_;
  reactor::UniqueFd fd_;
  FrontendConnection* owner_ = nullptr;
  reactor::Timer timer_;
  BackendConnState state_ = BackendConnState::connecting;
  bool reused_ = false;
};

}  // namespace lb::proxy
