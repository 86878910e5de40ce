// The addon's entry point: exports the Balancer class, cpuCount(), and as data the options
// table (configTable()) and the strategy names (strategies()) it accepts, so the
// TypeScript side can be checked against them. Per-environment
// state lives in the Napi::Addon instance, so loading the addon in several worker
// threads is safe.
#include <napi.h>
#include <unistd.h>

#include "addon/balancer_object.h"
#include "addon/config_table.h"
#include "balancing/strategy.h"

#include <cstring>

namespace lb::addon {

class LbAddon : public Napi::Addon<LbAddon> {
 public:
  LbAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceValue("Balancer", BalancerObject::define(env), napi_enumerable),
                             InstanceMethod<&LbAddon::cpu_count>("cpuCount", napi_enumerable),
                             InstanceMethod<&LbAddon::config_table>("configTable", napi_enumerable),
                             InstanceMethod<&LbAddon::strategies>("strategies", napi_enumerable),
                         });
  }

 private:
  Napi::Value cpu_count(const Napi::CallbackInfo& info) {
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return Napi::Number::New(info.Env(), count > 0 ? static_cast<double>(count) : 1.0);
  }

  Napi::Value config_table(const Napi::CallbackInfo& info) { return lb::addon::config_table(info.Env()); }

  // Every StrategyKind by name. The kinds are numbered from 0 without gaps; to_string
  // answers "unknown" past the last.
  Napi::Value strategies(const Napi::CallbackInfo& info) {
    Napi::Array names = Napi::Array::New(info.Env());
    for (unsigned kind = 0; kind <= UINT8_MAX; ++kind) {
      const char* name = balancing::to_string(static_cast<balancing::StrategyKind>(kind));
      if (std::strcmp(name, "unknown") == 0) break;
      names.Set(names.Length(), Napi::String::New(info.Env(), name));
    }
    return names;
  }
};

}  // namespace lb::addon

using lb::addon::LbAddon;
NODE_API_ADDON(LbAddon)
