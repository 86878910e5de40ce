// Reads NativeConfig's `protection` section (allow/deny lists, connections per client,
// rate limits) into the rules a snapshot carries. TypeScript validates first
// (src/config/protection-schema.ts); this checks again and names the field.
#pragma once

#include <napi.h>

#include <string>

#include "protection/edge_rules.h"
#include "upstream/pool_breaker.h"

namespace lb::addon {

// An absent section leaves `out.rules` null (nothing to check).
bool read_protection(const Napi::Object& object, protection::EdgeProtection& out, std::string& error);

// `protection.circuitBreaker` (absent: off) into the pool's breaker settings.
bool read_circuit_breaker(const Napi::Object& object, upstream::CircuitBreaker& out, std::string& error);

}  // namespace lb::addon
