// ClientConnection, tunneling state: after a 101, the connection is a byte relay in both
// directions (see relay.h). The rest of the state machine is in client_connection.cpp.
#include "proxy/client_connection.h"

#include "proxy/backend_connection.h"
#include "proxy/worker_context.h"
#include "stats/worker_counters.h"

namespace lb::proxy {
// ---------------------------------------------------------------------------------------
// tunneling

void ClientConnection::enter_tunnel() {
  // From here the bytes are not HTTP: whatever followed the 101 head in resp_ and
  // whatever the client sent after its request in in_ belong to the new protocol.
  upstream_side_.backend()->disarm_timer();
  enter(ClientState::tunneling);
  arm_timer(TimerKind::tunnel_idle);
  pump_tunnel();
}

void ClientConnection::pump_tunnel() {
  if (upstream_side_.backend()->failed) {
    close();  // a reset on either side ends both
    return;
  }
  stats::BackendWorkerCounters& backend_counters = *upstream_side_.backend()->backend().counters;
  // Always the buffer relay: a TLS client's (or TLS backend's) bytes must pass through OpenSSL.
  RelayEnd client{fd_.get(), readable_, writable_, nullptr, &transport_};
  RelayEnd backend{upstream_side_.backend()->fd(), upstream_side_.backend()->readable,
                   upstream_side_.backend()->writable, nullptr, &upstream_side_.backend()->transport()};
  bool active = false;
  for (;;) {
    client.bytes = &context_.counters.bytes_from_clients;
    backend.bytes = &backend_counters.bytes_to_backend;
    bool moved = upstream_.pump(client, backend, in_, nullptr);
    client.bytes = &context_.counters.bytes_to_clients;
    backend.bytes = &backend_counters.bytes_from_backend;
    moved = downstream_.pump(backend, client, resp_, &out_) || moved;
    if (upstream_.state.failed || downstream_.state.failed) {
      close();
      return;
    }
    if (upstream_.state.finished() && downstream_.state.finished()) {
      close();
      return;
    }
    if (!moved) break;
    active = true;
  }
  if (active) arm_timer(TimerKind::tunnel_idle);
}

}  // namespace lb::proxy
