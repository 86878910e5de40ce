// A backend as configured: immutable once published in a ProxyConfig snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/socket_address.h"
#include "stats/backend_counter_set.h"

namespace lb::balancing {

enum class BackendState : uint8_t {
  ready,  // takes new requests
  drain,  // takes no new requests; in-flight ones finish
  maint,  // takes nothing
};

const char* to_string(BackendState state);

struct BackendSpec {
  uint32_t id = 0;
  net::SocketAddress address;
  std::string label;  // "host:port", for events and logs
  uint32_t weight = 1;
  // Requests in flight on it at once, for the whole process; more wait in its queue
  // (upstream/backend_queue.h). 0: no limit.
  uint32_t max_connections = 0;
  BackendState state = BackendState::ready;
  // False while active health checks (run by the control plane) say it is down.
  bool healthy = true;
  // Redirect mode: scheme://host[:port] clients are sent to (no trailing slash).
  std::string public_url;
  // Shared by every snapshot naming this id; each worker writes only its own slot.
  std::shared_ptr<stats::BackendCounterSet> counters;
};

}  // namespace lb::balancing
