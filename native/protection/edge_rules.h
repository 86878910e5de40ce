// The edge rules of one configuration snapshot (immutable once published: workers read
// them without a lock), and the state the rules share across workers for the whole
// process (the connection table and the counters), created once by the running balancer
// and handed to every snapshot. Checked by each worker's EdgeGuard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protection/cidr_set.h"
#include "protection/client_connection_table.h"
#include "protection/cluster_limits.h"
#include "protection/token_bucket.h"
#include "stats/counter.h"

namespace lb::protection {

enum class RateKey : uint8_t {
  client,  // one bucket per client address
  header,  // one bucket per value of a named request header (no header: not limited)
  path,    // one bucket for every request under a path prefix
};
const char* to_string(RateKey key);

struct RateRule {
  std::string name;  // for counters and messages
  RateKey key = RateKey::client;
  std::string header;       // RateKey::header: the header's name
  std::string path_prefix;  // RateKey::path: the prefix; else, if set, only requests under it count
  TokenRate rate;
  // Cluster-wide (docs/protection.md, "Across balancers"): counted for the control plane
  // and checked against the keys it found over the limit. `cluster_seed` makes the key
  // hash the same on every balancer (the rule's name and the cluster prefix, no
  // per-process randomness); `local_rate` is the rate while Redis cannot be reached.
  bool cluster = false;
  uint64_t cluster_seed = 0;
  TokenRate local_rate;
};

struct EdgeRules {
  static constexpr size_t kMaxRateRules = 32;
  CidrSet allow;                            // empty: every client not denied
  CidrSet deny;                             // wins over allow
  uint32_t max_connections_per_client = 0;  // 0: no limit
  std::vector<RateRule> rate_limits;
  uint32_t rate_limit_keys = 65536;  // each worker's bucket table
  uint32_t cluster_keys = 0;         // cluster rules: keys counted per worker and interval, and blocked keys; 0: none

  bool has_cluster_rules() const { return cluster_keys > 0; }

  bool checks_accept() const { return !allow.empty() || !deny.empty() || max_connections_per_client > 0; }
};

// One worker's protection counters (single writer: that worker), cache-line aligned.
struct alignas(64) EdgeWorkerCounters {
  stats::Counter denied;                                  // closed at accept by allow/deny
  stats::Counter connections_limited;                     // closed at accept: the client had its maximum
  stats::Counter connection_table_full;                   // admitted uncounted: no room in the table
  stats::Counter rate_limited;                            // answered 429
  stats::Counter rate_table_size;                         // gauge: keys in this worker's bucket table
  stats::Counter rate_table_evictions;                    // live keys forgotten to make room
  stats::Counter rate_table_bytes;                        // gauge: the table's fixed size
  stats::Counter rule_limited[EdgeRules::kMaxRateRules];  // 429s by rule position
};

class EdgeShared {
 public:
  static constexpr uint32_t kConnectionTableSize = 65536;  // 512 KiB for the process

  explicit EdgeShared(size_t workers);
  EdgeWorkerCounters& slot(size_t worker) { return counters_[worker]; }
  const EdgeWorkerCounters& slot(size_t worker) const { return counters_[worker]; }
  size_t workers() const { return workers_; }
  ClientConnectionTable& connections() { return connections_; }
  const ClientConnectionTable& connections() const { return connections_; }
  uint64_t seed() const { return seed_; }

 private:
  std::unique_ptr<EdgeWorkerCounters[]> counters_;
  size_t workers_;
  ClientConnectionTable connections_;
  uint64_t seed_;
};

// What a ProxyConfig carries: the rules (null: none) and the process-wide state.
struct EdgeProtection {
  std::shared_ptr<const EdgeRules> rules;
  std::shared_ptr<EdgeShared> shared;
  // Cluster-wide rate limits' state (null: no cluster rule), one per balancer.
  std::shared_ptr<ClusterLimits> cluster;
};

}  // namespace lb::protection
