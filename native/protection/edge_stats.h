// Edge protection counters summed over the workers, for stats() and the metrics.
#pragma once

#include <cstdint>

#include "protection/edge_rules.h"

namespace lb::protection {

struct EdgeStats {
  uint64_t denied = 0, connections_limited = 0, connection_table_full = 0, rate_limited = 0;
  uint64_t rate_table_keys = 0, rate_table_evictions = 0, rate_table_bytes = 0;
  uint64_t clients_with_connections = 0, connection_table_bytes = 0;
  uint64_t rule_limited[EdgeRules::kMaxRateRules] = {};
};

EdgeStats sum_edge_stats(const EdgeShared& shared);

}  // namespace lb::protection
