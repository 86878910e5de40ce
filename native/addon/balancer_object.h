// The JavaScript Balancer class (NativeBalancer in src/native.ts): a thin wrapper over
// runtime::Balancer plus the bridge that carries worker events to JavaScript.
//
// Events: a worker calls the thread-safe function (non-blocking) only when its ring goes
// from empty to non-empty; the JavaScript side then drains every ring at once.
// Lifetime: while running, the object holds a reference to itself and the thread-safe
// function keeps the event loop alive (like a listening server). stop() joins the workers
// on a helper thread and calls back on the JavaScript thread; an environment cleanup hook
// stops and joins everything if the process or worker thread exits while running.
#pragma once

#include <napi.h>

#include <memory>
#include <thread>
#include <vector>

#include "addon/backend_tls_contexts.h"
#include "addon/tls_context_cache.h"
#include "runtime/balancer.h"

namespace lb::addon {

class BalancerObject : public Napi::ObjectWrap<BalancerObject> {
 public:
  static Napi::Function define(Napi::Env env);

  explicit BalancerObject(const Napi::CallbackInfo& info);
  ~BalancerObject() override;

 private:
  Napi::Value start(const Napi::CallbackInfo& info);
  Napi::Value update(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value stop(const Napi::CallbackInfo& info);
  Napi::Value bound_port(const Napi::CallbackInfo& info);
  Napi::Value rebind(const Napi::CallbackInfo& info);
  Napi::Value clear_ejection(const Napi::CallbackInfo& info);
  Napi::Value set_acme_challenges(const Napi::CallbackInfo& info);
  Napi::Value set_acme_alpn_challenges(const Napi::CallbackInfo& info);
  Napi::Value set_ticket_keys(const Napi::CallbackInfo& info);
  Napi::Value collect_cluster_counts(const Napi::CallbackInfo& info);
  Napi::Value set_cluster_blocks(const Napi::CallbackInfo& info);
  // Gives a snapshot with cluster rate limits the balancer's cluster state (made once).
  void attach_cluster_limits(proxy::ProxyConfig& config);

  // Runs on the JavaScript thread for each thread-safe-function call. `stopped` is set
  // for the last call, made once every worker has ended.
  static void deliver(Napi::Env env, Napi::Function callback, BalancerObject* self, bool* stopped);
  void drain_events(Napi::Env env);
  void shut_down_now();
  static void cleanup_hook(void* self);
  // Reads the configuration object into `config`, its TLS context included.
  bool read_config(const Napi::Object& object, proxy::ProxyConfig& config, std::string& error);

  using EventBridge = Napi::TypedThreadSafeFunction<BalancerObject, bool, deliver>;

  Napi::FunctionReference on_events_;
  std::vector<Napi::FunctionReference> on_stopped_;  // every stop() caller's callback
  std::unique_ptr<runtime::Balancer> balancer_;
  // One per listener, by index: each keeps its context while its TLS settings stay.
  std::vector<TlsContextCache> tls_contexts_;
  BackendTlsContexts backend_tls_;
  EventBridge bridge_;
  std::thread stopper_;
  // Kept here so that start() and every update() carry it into the new snapshot.
  std::shared_ptr<const http1::AcmeChallengeTable> acme_challenges_;
  std::shared_ptr<const tls::AcmeAlpnChallenges> acme_alpn_challenges_;
  // The control plane's session ticket keys (empty: the balancer makes its own at start).
  tls::TicketKeyRing ticket_keys_;
  // Cluster-wide rate limits: counts and blocks kept across updates (null until a
  // configuration has a cluster rule).
  std::shared_ptr<protection::ClusterLimits> cluster_limits_;
  // The pool circuit breaker's load for the whole process, kept across updates.
  std::shared_ptr<upstream::PoolLoad> pool_load_ = std::make_shared<upstream::PoolLoad>();
  uint32_t workers_ = 1;
  bool running_ = false;
  bool stopping_ = false;
  bool cleanup_hook_added_ = false;
};

}  // namespace lb::addon
