// The addon's entry point: exports the Balancer class and cpuCount(). Per-environment
// state lives in the Napi::Addon instance, so loading the addon in several worker
// threads is safe.
#include <napi.h>
#include <unistd.h>

#include "addon/balancer_object.h"

namespace lb::addon {

class LbAddon : public Napi::Addon<LbAddon> {
 public:
  LbAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceValue("Balancer", BalancerObject::define(env), napi_enumerable),
                             InstanceMethod<&LbAddon::cpu_count>("cpuCount", napi_enumerable),
                         });
  }

 private:
  Napi::Value cpu_count(const Napi::CallbackInfo& info) {
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return Napi::Number::New(info.Env(), count > 0 ? static_cast<double>(count) : 1.0);
  }
};

}  // namespace lb::addon

using lb::addon::LbAddon;
NODE_API_ADDON(LbAddon)
