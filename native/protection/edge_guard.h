// One worker's side of edge protection, called from the data path with the worker's
// current snapshot: at accept (allow/deny, connections per client) and once per request
// head (rate limits, with this worker's bucket table). No JavaScript, no lock, no
// allocation per call; the bucket table is allocated when a snapshot first asks for it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "http1/parser.h"
#include "protection/connection_ticket.h"
#include "protection/edge_rules.h"
#include "protection/rate_limit_table.h"

namespace lb::protection {

class EdgeGuard {
 public:
  explicit EdgeGuard(uint16_t worker_index) : worker_index_(worker_index) {}

  // A new connection from `peer`: false to close it at once (counted). A connection
  // counted against its client's limit gets its `ticket`, to keep while it is open.
  bool admit(const EdgeProtection& protection, const sockaddr_storage& peer, ConnectionTicket& ticket);

  // A request head: 0 to go on, else the milliseconds until the first rule that refused
  // it would let it through (answer 429). Tokens are taken from each rule in order until
  // one refuses.
  uint64_t check_request(const EdgeProtection& protection, const http1::MessageHead& head, const sockaddr* peer,
                         uint64_t now_ms);

 private:
  RateLimitTable& table_for(const EdgeRules& rules, EdgeWorkerCounters& counters);

  const uint16_t worker_index_;
  std::unique_ptr<RateLimitTable> table_;
};

// The path of a request target: origin-form as is, absolute-form from its first '/' after
// the authority ("" if none), anything else as is.
std::string_view target_path(std::string_view target);

}  // namespace lb::protection
