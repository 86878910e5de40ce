#include "addon/cluster_binding.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "reactor/clock.h"

namespace lb::addon {

namespace {

std::string key_text(uint64_t key) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, key);
  return text;
}

bool key_of(const Napi::Value& value, uint64_t& key) {
  if (!value.IsString()) return false;
  const std::string text = value.As<Napi::String>().Utf8Value();
  if (text.empty() || text.size() > 16) return false;
  char* end = nullptr;
  key = std::strtoull(text.c_str(), &end, 16);
  return end && *end == '\0' && key != 0;
}

}  // namespace

Napi::Value collect_cluster_counts(Napi::Env env, protection::ClusterLimits* limits) {
  Napi::Object result = Napi::Object::New(env);
  Napi::Array list = Napi::Array::New(env);
  uint64_t limited = 0, dropped = 0;
  if (limits) {
    struct Count {
      uint32_t rule;
      uint64_t count;
    };
    std::unordered_map<uint64_t, Count> sums;
    for (size_t w = 0; w < limits->workers(); ++w) {
      limits->counts(w).collect([&](uint64_t key, uint32_t rule, uint64_t count) {
        auto [it, added] = sums.try_emplace(key, Count{rule, 0});
        it->second.count += count;
      });
      limited += limits->counters(w).limited.get();
      dropped += limits->counters(w).counts_dropped.get();
    }
    uint32_t i = 0;
    for (const auto& [key, sum] : sums) {
      Napi::Array row = Napi::Array::New(env, 3);
      row.Set(0u, Napi::Number::New(env, sum.rule));
      row.Set(1u, Napi::String::New(env, key_text(key)));
      row.Set(2u, Napi::Number::New(env, static_cast<double>(sum.count)));
      list.Set(i++, row);
    }
  }
  result.Set("counts", list);
  result.Set("limited", Napi::Number::New(env, static_cast<double>(limited)));
  result.Set("countsDropped", Napi::Number::New(env, static_cast<double>(dropped)));
  result.Set("memoryBytes", Napi::Number::New(env, limits ? static_cast<double>(limits->memory_bytes()) : 0));
  return result;
}

Napi::Value set_cluster_blocks(const Napi::CallbackInfo& info, protection::ClusterLimits* limits) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsBoolean()) {
    Napi::TypeError::New(env, "setClusterBlocks: expected ([[key, waitMs], ...], degraded)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t blocked = 0, dropped = 0;
  if (limits) {
    const bool degraded = info[1].As<Napi::Boolean>().Value();
    limits->set_degraded(degraded);
    if (degraded) {
      limits->blocks().clear();
    } else {
      const uint64_t now_ms = reactor::monotonic_ms();
      limits->blocks().sweep(now_ms);
      Napi::Array list = info[0].As<Napi::Array>();
      for (uint32_t i = 0; i < list.Length(); ++i) {
        Napi::Value item = list.Get(i);
        if (!item.IsArray()) continue;
        Napi::Array row = item.As<Napi::Array>();
        uint64_t key = 0;
        Napi::Value wait = row.Get(1u);
        if (!key_of(row.Get(0u), key) || !wait.IsNumber()) continue;
        const double wait_ms = wait.As<Napi::Number>().DoubleValue();
        if (!(wait_ms >= 1)) continue;
        // A block longer than a day is cut to a day (the table compares 32-bit times).
        const uint64_t until = now_ms + static_cast<uint64_t>(wait_ms < 86400000 ? wait_ms : 86400000);
        if (!limits->blocks().block(key, until)) ++dropped;
      }
      blocked = limits->blocks().sweep(now_ms);
    }
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("blocked", Napi::Number::New(env, blocked));
  result.Set("dropped", Napi::Number::New(env, dropped));
  return result;
}

}  // namespace lb::addon
