#include "protection/edge_guard.h"

#include <algorithm>
#include <bit>

#include "protection/client_address.h"
#include "protection/key_hash.h"

namespace lb::protection {

std::string_view target_path(std::string_view target) {
  if (target.empty() || target.front() == '/') return target;
  const size_t scheme = target.find("://");
  if (scheme == std::string_view::npos) return target;
  const size_t slash = target.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view() : target.substr(slash);
}

bool EdgeGuard::admit(const EdgeProtection& protection, const sockaddr_storage& peer, ConnectionTicket& ticket) {
  const EdgeRules* rules = protection.rules.get();
  if (!rules || !rules->checks_accept() || !protection.shared) return true;
  ClientAddress address{};
  if (!client_address_of(reinterpret_cast<const sockaddr*>(&peer), address)) return true;
  EdgeWorkerCounters& counters = protection.shared->slot(worker_index_);
  if ((!rules->allow.empty() && !rules->allow.contains(address)) || rules->deny.contains(address)) {
    counters.denied.add();
    return false;
  }
  if (rules->max_connections_per_client == 0) return true;
  const uint64_t key = key_hash(protection.shared->seed(), {reinterpret_cast<const char*>(address.data()), 16});
  uint32_t slot = 0;
  switch (protection.shared->connections().acquire(key, rules->max_connections_per_client, slot)) {
    case ClientConnectionTable::Admit::counted: ticket = ConnectionTicket(protection.shared, slot); return true;
    case ClientConnectionTable::Admit::over_limit: counters.connections_limited.add(); return false;
    case ClientConnectionTable::Admit::table_full: counters.connection_table_full.add(); return true;
  }
  return true;
}

RateLimitTable& EdgeGuard::table_for(const EdgeRules& rules, EdgeWorkerCounters& counters) {
  // A new size (a reload changed it) starts a new table: the buckets start full again.
  if (!table_ || table_->capacity() != std::bit_ceil(std::max(rules.rate_limit_keys, RateLimitTable::kProbe))) {
    table_ = std::make_unique<RateLimitTable>(rules.rate_limit_keys);
    counters.rate_table_bytes.set(table_->memory_bytes());
  }
  return *table_;
}

uint64_t EdgeGuard::check_request(const EdgeProtection& protection, const http1::MessageHead& head,
                                  const sockaddr* peer, uint64_t now_ms) {
  const EdgeRules* rules = protection.rules.get();
  if (!rules || rules->rate_limits.empty() || !protection.shared) return 0;
  EdgeWorkerCounters& counters = protection.shared->slot(worker_index_);
  RateLimitTable& table = table_for(*rules, counters);
  const uint64_t seed = protection.shared->seed();
  const std::string_view path = target_path(head.target);
  for (size_t index = 0; index < rules->rate_limits.size(); ++index) {
    const RateRule& rule = rules->rate_limits[index];
    if (!rule.path_prefix.empty() && !path.starts_with(rule.path_prefix)) continue;
    std::string_view key_bytes;
    ClientAddress address{};
    switch (rule.key) {
      case RateKey::client:
        if (!client_address_of(peer, address)) continue;
        key_bytes = {reinterpret_cast<const char*>(address.data()), address.size()};
        break;
      case RateKey::header: {
        bool found = false;
        for (uint32_t i = 0; i < head.header_count; ++i) {
          if (http1::equals_ignore_case(head.headers[i].name, rule.header)) {
            key_bytes = head.headers[i].value;
            found = true;
            break;
          }
        }
        if (!found) continue;
        break;
      }
      case RateKey::path: key_bytes = rule.path_prefix; break;
    }
    ClusterLimits* cluster = rule.cluster ? protection.cluster.get() : nullptr;
    const bool degraded = cluster && cluster->degraded();
    uint64_t cluster_key = 0;
    if (cluster) {
      cluster_key = key_hash(rule.cluster_seed, key_bytes);
      if (const uint64_t blocked_ms = degraded ? 0 : cluster->blocks().blocked_for(cluster_key, now_ms)) {
        cluster->counters(worker_index_).limited.add();
        counters.rate_limited.add();
        counters.rule_limited[index].add();
        return blocked_ms;
      }
    }
    const TokenRate& rate = degraded ? rule.local_rate : rule.rate;
    // The rule's position is part of the key: two rules on the same client keep two buckets.
    const uint64_t key = key_hash(seed ^ mix64(index + 1), key_bytes);
    bool evicted = false;
    TokenBucket& bucket = table.find_or_add(key, rate, now_ms, evicted);
    if (evicted) counters.rate_table_evictions.add();
    counters.rate_table_size.set(table.size());
    const uint64_t wait_ms = bucket.take(rate, now_ms);
    if (wait_ms != 0) {
      counters.rate_limited.add();
      counters.rule_limited[index].add();
      return wait_ms;
    }
    if (cluster && !cluster->counts(worker_index_).add(cluster_key, static_cast<uint32_t>(index))) {
      cluster->counters(worker_index_).counts_dropped.add();
    }
  }
  return 0;
}

}  // namespace lb::protection
