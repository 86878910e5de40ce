#include "protection/edge_stats.h"

namespace lb::protection {

EdgeStats sum_edge_stats(const EdgeShared& shared) {
  EdgeStats total;
  for (size_t w = 0; w < shared.workers(); ++w) {
    const EdgeWorkerCounters& c = shared.slot(w);
    total.denied += c.denied.get();
    total.connections_limited += c.connections_limited.get();
    total.connection_table_full += c.connection_table_full.get();
    total.rate_limited += c.rate_limited.get();
    total.rate_table_keys += c.rate_table_size.get();
    total.rate_table_evictions += c.rate_table_evictions.get();
    total.rate_table_bytes += c.rate_table_bytes.get();
    for (size_t r = 0; r < EdgeRules::kMaxRateRules; ++r) total.rule_limited[r] += c.rule_limited[r].get();
  }
  total.clients_with_connections = shared.connections().occupied();
  total.connection_table_bytes = uint64_t{shared.connections().capacity()} * sizeof(uint64_t);
  return total;
}

}  // namespace lb::protection
