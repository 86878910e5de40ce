// The control plane's calls into cluster-wide rate limits (NativeBalancer's
// collectClusterCounts and setClusterBlocks in src/native.ts): read what the workers
// counted, and install what Redis said. Both run on the JavaScript thread and only
// touch atomics the workers read (protection/cluster_limits.h).
#pragma once

#include <napi.h>

#include "protection/cluster_limits.h"

namespace lb::addon {

// { counts: [[rule, key, count], ...] summed over workers, limited, countsDropped, memoryBytes }.
// `limits` may be null (no cluster rule): nothing counted.
Napi::Value collect_cluster_counts(Napi::Env env, protection::ClusterLimits* limits);

// blocks: [[key, waitMs], ...]; degraded: true while Redis cannot be reached (clears every
// block; workers apply local shares). Returns { blocked, dropped }.
Napi::Value set_cluster_blocks(const Napi::CallbackInfo& info, protection::ClusterLimits* limits);

}  // namespace lb::addon
