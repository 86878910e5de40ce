// Turns the summed counters into the plain object described by NativeStats
// (src/native.ts).
#pragma once

#include <napi.h>

#include "runtime/balancer.h"
#include "stats/event_ring.h"

namespace lb::addon {

Napi::Object to_js(Napi::Env env, const protection::EdgeStats& stats);
Napi::Object to_js(Napi::Env env, const runtime::BalancerStats& stats);
Napi::Object to_js(Napi::Env env, const stats::Event& event);
Napi::Object to_js(Napi::Env env, const stats::AccessRecord& record);

}  // namespace lb::addon
