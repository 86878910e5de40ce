// What a worker needs from any connection it accepted, HTTP or TCP: to be told about
// its backend connection, to drain, and to close. A backend connection reports to the
// frontend connection that owns it through this interface.
#pragma once

#include <cstddef>

#include "protection/connection_ticket.h"
#include "reactor/event_loop.h"
#include "reactor/timer_wheel.h"

namespace lb::proxy {

class FrontendConnection : public reactor::EventHandler, public reactor::TimerHandler {
 public:
  virtual void on_backend_connected() = 0;
  virtual void on_backend_connect_failed(int error) = 0;
  virtual void on_backend_io() = 0;
  virtual void on_backend_timeout() = 0;

  // Graceful stop: an idle connection closes now, a busy one when its work is done.
  virtual void drain() = 0;
  // Closes the socket and retires the object.
  virtual void close() = 0;

  size_t tracking_index = 0;  // position in WorkerContext's list, for O(1) removal
  // Its count in the process-wide connections-per-client table, released with the object.
  protection::ConnectionTicket client_ticket;
};

}  // namespace lb::proxy
