#include "addon/protection_conversion.h"

#include <algorithm>
#include <cmath>

#include "addon/config_table.h"
#include "protection/key_hash.h"

namespace lb::addon {

namespace {

// The ranges of a rate rule, as src/config/protection-schema.ts (`protectionBounds`) has them.
constexpr double kMinRate = 0.001;
constexpr double kMaxRate = 1000000;
constexpr double kMaxBurst = 1000000;
constexpr size_t kMaxText = 256;

bool read_blocks(const Napi::Object& section, const char* key, protection::CidrSet& out, std::string& error) {
  Napi::Value value = section.Get(key);
  if (value.IsUndefined()) return true;
  if (!value.IsArray()) {
    error = std::string("protection.") + key + ": expected an array of CIDR blocks";
    return false;
  }
  Napi::Array list = value.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string path = std::string("protection.") + key + "[" + std::to_string(i) + "]";
    Napi::Value item = list.Get(i);
    if (!item.IsString()) {
      error = path + ": expected a string like 10.0.0.0/8";
      return false;
    }
    protection::CidrBlock block;
    std::string why;
    if (!protection::parse_cidr(item.As<Napi::String>().Utf8Value(), block, why)) {
      error = path + ": " + why;
      return false;
    }
    out.add(block);
  }
  return true;
}

bool read_text(const Napi::Object& object, const std::string& path, const char* key, bool required, std::string& out,
               std::string& error) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() && !required) return true;
  if (!value.IsString()) {
    error = path + key + ": expected a string";
    return false;
  }
  out = value.As<Napi::String>().Utf8Value();
  if (out.empty() || out.size() > kMaxText) {
    error = path + key + ": expected 1 to " + std::to_string(kMaxText) + " characters";
    return false;
  }
  return true;
}

bool read_number(const Napi::Object& object, const std::string& path, const char* key, double min, double max,
                 bool integer, double& out, std::string& error) {
  Napi::Value value = object.Get(key);
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(number) || number < min || number > max || (integer && std::floor(number) != number)) {
    error = path + key + ": expected " + (integer ? "an integer" : "a number") + " from " +
            (!integer && min < 1 ? std::to_string(min) : std::to_string(static_cast<long long>(min))) + " to " +
            std::to_string(static_cast<long long>(max));
    return false;
  }
  out = number;
  return true;
}

bool read_rule(const Napi::Object& item, const std::string& path, protection::RateRule& rule, std::string& error) {
  std::string key;
  if (!read_text(item, path, "name", true, rule.name, error)) return false;
  if (!read_text(item, path, "key", true, key, error)) return false;
  if (key == "client") {
    rule.key = protection::RateKey::client;
  } else if (key == "header") {
    rule.key = protection::RateKey::header;
  } else if (key == "path") {
    rule.key = protection::RateKey::path;
  } else {
    error = path + "key: expected client, header or path, got '" + key + "'";
    return false;
  }
  if (!read_text(item, path, "header", rule.key == protection::RateKey::header, rule.header, error)) return false;
  if (!read_text(item, path, "pathPrefix", rule.key == protection::RateKey::path, rule.path_prefix, error)) {
    return false;
  }
  if (!rule.path_prefix.empty() && rule.path_prefix.front() != '/') {
    error = path + "pathPrefix: expected a path starting with '/'";
    return false;
  }
  double rate = 0;
  double burst = 0;
  if (!read_number(item, path, "rate", kMinRate, kMaxRate, false, rate, error)) return false;
  if (!read_number(item, path, "burst", 1, kMaxBurst, true, burst, error)) return false;
  rule.rate.milli_per_second = static_cast<uint64_t>(std::llround(rate * 1000));
  rule.rate.burst = static_cast<uint64_t>(burst);
  Napi::Value cluster = item.Get("cluster");
  if (!cluster.IsUndefined() && !cluster.IsBoolean()) {
    error = path + "cluster: expected true or false";
    return false;
  }
  rule.cluster = !cluster.IsUndefined() && cluster.As<Napi::Boolean>().Value();
  return true;
}

// A fixed seed for the cluster key hashes: every balancer must name a key alike.
constexpr uint64_t kClusterSeed = 0x6c622d6e61746976ull;

// `protection.cluster`: what the data path needs of it (the control plane keeps the rest).
// Every cluster rule gets its seed (prefix and name) and its local share.
bool read_cluster(const Napi::Object& section, protection::EdgeRules& rules, std::string& error) {
  bool any = false;
  for (const protection::RateRule& rule : rules.rate_limits) any = any || rule.cluster;
  Napi::Value value = section.Get("cluster");
  if (value.IsUndefined()) {
    if (any) error = "protection.cluster: required by a rate limit with cluster: true";
    return !any;
  }
  if (!value.IsObject()) {
    error = "protection.cluster: expected an object";
    return false;
  }
  Napi::Object cluster = value.As<Napi::Object>();
  std::string prefix;
  double share = 0;
  double keys = 0;
  if (!read_text(cluster, "protection.cluster.", "prefix", true, prefix, error) ||
      !read_number(cluster, "protection.cluster.", "localShare", 0.000001, 1, false, share, error) ||
      !read_number(cluster, "protection.cluster.", "keys", 64, 1048576, true, keys, error)) {
    return false;
  }
  if (!any) return true;
  rules.cluster_keys = static_cast<uint32_t>(keys);
  for (protection::RateRule& rule : rules.rate_limits) {
    if (!rule.cluster) continue;
    rule.cluster_seed = protection::key_hash(kClusterSeed, prefix + '\0' + rule.name);
    rule.local_rate.milli_per_second =
        std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(rule.rate.milli_per_second * share)));
    rule.local_rate.burst = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(rule.rate.burst * share)));
  }
  return true;
}

}  // namespace

bool read_protection(const Napi::Object& object, protection::EdgeProtection& out, std::string& error) {
  Napi::Value value = object.Get("protection");
  if (value.IsUndefined()) return true;
  if (!value.IsObject()) {
    error = "protection: expected an object";
    return false;
  }
  Napi::Object section = value.As<Napi::Object>();
  auto rules = std::make_shared<protection::EdgeRules>();
  if (!read_protection_options(object, *rules, error)) return false;
  if (!read_blocks(section, "allow", rules->allow, error) || !read_blocks(section, "deny", rules->deny, error)) {
    return false;
  }
  Napi::Value limits = section.Get("rateLimits");
  if (!limits.IsUndefined()) {
    if (!limits.IsArray()) {
      error = "protection.rateLimits: expected an array";
      return false;
    }
    Napi::Array list = limits.As<Napi::Array>();
    if (list.Length() > protection::EdgeRules::kMaxRateRules) {
      error = "protection.rateLimits: at most " + std::to_string(protection::EdgeRules::kMaxRateRules) + " rules";
      return false;
    }
    for (uint32_t i = 0; i < list.Length(); ++i) {
      const std::string path = "protection.rateLimits[" + std::to_string(i) + "].";
      Napi::Value item = list.Get(i);
      if (!item.IsObject()) {
        error = "protection.rateLimits[" + std::to_string(i) + "]: expected an object";
        return false;
      }
      protection::RateRule rule;
      if (!read_rule(item.As<Napi::Object>(), path, rule, error)) return false;
      rules->rate_limits.push_back(std::move(rule));
    }
  }
  if (!read_cluster(section, *rules, error)) return false;
  out.rules = std::move(rules);
  return true;
}

bool read_circuit_breaker(const Napi::Object& object, upstream::CircuitBreaker& out, std::string& error) {
  Napi::Value section = object.Get("protection");
  if (!section.IsObject()) return true;
  Napi::Value value = section.As<Napi::Object>().Get("circuitBreaker");
  if (value.IsUndefined()) return true;
  if (!value.IsObject()) {
    error = "protection.circuitBreaker: expected an object";
    return false;
  }
  Napi::Object breaker = value.As<Napi::Object>();
  double max_requests = 0, max_pending = 0;
  if (!read_number(breaker, "protection.circuitBreaker.", "maxRequests", 0, 1000000, true, max_requests, error) ||
      !read_number(breaker, "protection.circuitBreaker.", "maxPendingRequests", 0, 1000000, true, max_pending, error)) {
    return false;
  }
  out.max_requests = static_cast<uint32_t>(max_requests);
  out.max_pending_requests = static_cast<uint32_t>(max_pending);
  return true;
}

}  // namespace lb::addon
