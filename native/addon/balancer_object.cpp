#include "addon/balancer_object.h"

#include <algorithm>
#include <cctype>

#include "addon/cluster_binding.h"
#include "addon/config_conversion.h"
#include "addon/protection_conversion.h"
#include "addon/stats_conversion.h"

namespace lb::addon {

namespace {

Napi::Value throw_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

// LB_ERR_LISTEN with the errno name and the failing system call, for callers that
// branch on the cause rather than on the message.
void throw_listen_error(Napi::Env env, const net::ListenError& listen_error) {
  Napi::Error failure = Napi::Error::New(env, listen_error.message);
  failure.Set("code", Napi::String::New(env, "LB_ERR_LISTEN"));
  if (listen_error.error_number != 0) {
    failure.Set("errno", Napi::String::New(env, strerrorname_np(listen_error.error_number)));
    failure.Set("syscall", Napi::String::New(env, listen_error.syscall));
  }
  failure.ThrowAsJavaScriptException();
}

}  // namespace

Napi::Function BalancerObject::define(Napi::Env env) {
  return DefineClass(env, "Balancer",
                     {
                         InstanceMethod<&BalancerObject::start>("start"),
                         InstanceMethod<&BalancerObject::update>("update"),
                         InstanceMethod<&BalancerObject::stats>("stats"),
                         InstanceMethod<&BalancerObject::stop>("stop"),
                         InstanceMethod<&BalancerObject::bound_port>("boundPort"),
                         InstanceMethod<&BalancerObject::rebind>("rebind"),
                         InstanceMethod<&BalancerObject::clear_ejection>("clearEjection"),
                         InstanceMethod<&BalancerObject::set_acme_challenges>("setAcmeChallenges"),
                         InstanceMethod<&BalancerObject::set_acme_alpn_challenges>("setAcmeAlpnChallenges"),
                         InstanceMethod<&BalancerObject::set_ticket_keys>("setTicketKeys"),
                         InstanceMethod<&BalancerObject::collect_cluster_counts>("collectClusterCounts"),
                         InstanceMethod<&BalancerObject::set_cluster_blocks>("setClusterBlocks"),
                     });
}

BalancerObject::BalancerObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BalancerObject>(info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw_error(info.Env(), "LB_ERR_CONFIG", "Balancer: expected an event callback function");
    return;
  }
  on_events_ = Napi::Persistent(info[0].As<Napi::Function>());
}

BalancerObject::~BalancerObject() {
  if (cleanup_hook_added_) napi_remove_env_cleanup_hook(Env(), &BalancerObject::cleanup_hook, this);
  shut_down_now();
}

Napi::Value BalancerObject::start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (running_) return throw_error(env, "LB_ERR_STATE", "start: the balancer is already running");
  if (info.Length() < 1 || !info[0].IsObject()) {
    return throw_error(env, "LB_ERR_CONFIG", "start: expected a configuration object");
  }
  Napi::Object config_object = info[0].As<Napi::Object>();
  runtime::ListenSettings listen;
  proxy::ProxyConfig config;
  std::string error;
  if (!read_listen_settings(config_object, listen, error) || !read_config(config_object, config, error)) {
    return throw_error(env, "LB_ERR_CONFIG", error);
  }
  workers_ = listen.workers;
  cluster_limits_.reset();
  attach_cluster_limits(config);
  config.acme_challenges = acme_challenges_;
  config.acme_alpn_challenges = acme_alpn_challenges_;
  // Every listener shares them (empty: the balancer makes its own at start).
  config.ticket_keys = ticket_keys_;
  // The limit is per balancer; each worker enforces its share.
  uint32_t& max_connections = config.limits.max_client_connections;
  if (max_connections > 0) max_connections = (max_connections + workers_ - 1) / workers_;

  bridge_ = EventBridge::New(env, on_events_.Value(), "lb-native-events", 0, 1, this);
  balancer_ = std::make_unique<runtime::Balancer>();
  auto notify = [this] { bridge_.NonBlockingCall(nullptr); };
  net::ListenError listen_error;
  if (!balancer_->start(listen, std::move(config), notify, listen_error)) {
    balancer_.reset();
    bridge_.Release();
    throw_listen_error(env, listen_error);
    return env.Undefined();
  }
  running_ = true;
  stopping_ = false;
  Ref();
  if (!cleanup_hook_added_) {
    napi_add_env_cleanup_hook(env, &BalancerObject::cleanup_hook, this);
    cleanup_hook_added_ = true;
  }
  return env.Undefined();
}

Napi::Value BalancerObject::update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!running_ || stopping_) return throw_error(env, "LB_ERR_STATE", "update: the balancer is not running");
  if (info.Length() < 1 || !info[0].IsObject()) {
    return throw_error(env, "LB_ERR_CONFIG", "update: expected a configuration object");
  }
  proxy::ProxyConfig config;
  std::string error;
  if (!read_config(info[0].As<Napi::Object>(), config, error)) {
    return throw_error(env, "LB_ERR_CONFIG", error);
  }
  uint32_t& max_connections = config.limits.max_client_connections;
  if (max_connections > 0) max_connections = (max_connections + workers_ - 1) / workers_;
  config.acme_challenges = acme_challenges_;
  config.acme_alpn_challenges = acme_alpn_challenges_;
  attach_cluster_limits(config);
  if (!balancer_->update(std::move(config), error)) return throw_error(env, "LB_ERR_CONFIG", error);
  return env.Undefined();
}

bool BalancerObject::read_config(const Napi::Object& object, proxy::ProxyConfig& config, std::string& error) {
  if (!read_proxy_config(object, config, error)) return false;
  std::vector<ListenerReading> listeners;
  if (!read_listeners(object, listeners, error)) return false;
  if (!backend_tls_.read(object, config.mode == proxy::ProxyMode::tcp, config.upstream.backend_tls, error))
    return false;
  if (!read_circuit_breaker(object, config.upstream.breaker, error)) return false;
  config.upstream.pool_load = pool_load_;
  // HTTP/2 is offered first on every TLS listener (a client that speaks both gets it), in
  // http mode: redirect mode answers every request itself, over HTTP/1.1.
  const bool offer_h2 = config.http2.enabled && config.mode == proxy::ProxyMode::http;
  // One context cache per listener. If a later listener fails, earlier caches may keep a
  // context that is never published: the next configuration compares against it anyway.
  if (tls_contexts_.size() < listeners.size()) tls_contexts_.resize(listeners.size());
  for (size_t i = 0; i < listeners.size(); ++i) {
    ListenerReading& reading = listeners[i];
    const std::string path = "listeners[" + std::to_string(i) + "].";
    if (reading.tls && config.mode == proxy::ProxyMode::tcp) {
      error = path + "tls: not in tcp mode (TLS there passes through to the backends untouched)";
      return false;
    }
    if (reading.policy.https_redirect.enabled && config.mode != proxy::ProxyMode::http) {
      error = path + "httpsRedirect: only in http mode";
      return false;
    }
    if (reading.tls) {
      // No certificate yet: it closes what it accepts until one arrives, but answers
      // TLS-ALPN-01 challenges meanwhile (a context with no certificate of its own).
      reading.tls_settings.awaiting_certificate = reading.tls_settings.certificates.empty();
      reading.policy.tls.awaiting_certificate = reading.tls_settings.awaiting_certificate;
      reading.tls_settings.alpn_protocols =
          offer_h2 ? std::vector<std::string>{"h2", "http/1.1"} : std::vector<std::string>{"http/1.1"};
      reading.policy.tls.context = tls_contexts_[i].resolve(reading.tls_settings, error);
      if (!reading.policy.tls.context) {
        error = path + "tls: " + error;
        return false;
      }
    }
    config.listeners.push_back(std::move(reading.policy));
  }
  // The mTLS subject header is dropped from what clients send on every listener, not
  // only on the one that verifies certificates: otherwise a client of a plain listener
  // could send it and a backend would take it as verified. One name for all listeners.
  std::string subject_header;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const std::string& name = config.listeners[i].tls.client_subject_header;
    if (name.empty()) continue;
    auto same = [](const std::string& a, const std::string& b) {
      return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
             });
    };
    if (!subject_header.empty() && !same(name, subject_header)) {
      error = "listeners[" + std::to_string(i) +
              "].tls.clientCertificates.subjectHeader: expected the same header as " + "the other listeners ('" +
              subject_header + "'), got '" + name + "'";
      return false;
    }
    subject_header = name;
  }
  for (proxy::ListenerPolicy& listener : config.listeners) listener.tls.client_subject_header = subject_header;
  return true;
}

void BalancerObject::attach_cluster_limits(proxy::ProxyConfig& config) {
  const protection::EdgeRules* rules = config.protection.rules.get();
  if (!rules || !rules->has_cluster_rules()) return;
  // Sized by the first configuration that asks; a later size applies from the next start.
  if (!cluster_limits_)
    cluster_limits_ = std::make_shared<protection::ClusterLimits>(std::max<uint32_t>(workers_, 1), rules->cluster_keys);
  config.protection.cluster = cluster_limits_;
}

Napi::Value BalancerObject::collect_cluster_counts(const Napi::CallbackInfo& info) {
  return addon::collect_cluster_counts(info.Env(), running_ ? cluster_limits_.get() : nullptr);
}

Napi::Value BalancerObject::set_cluster_blocks(const Napi::CallbackInfo& info) {
  return addon::set_cluster_blocks(info, running_ ? cluster_limits_.get() : nullptr);
}

Napi::Value BalancerObject::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!balancer_) return throw_error(env, "LB_ERR_STATE", "stats: the balancer is not running");
  Napi::Value stats = to_js(env, balancer_->stats());
  if (stats.IsObject()) {
    Napi::Object breaker = Napi::Object::New(env);
    breaker.Set("active", Napi::Number::New(env, pool_load_->active.load(std::memory_order_relaxed)));
    breaker.Set("pending", Napi::Number::New(env, pool_load_->pending.load(std::memory_order_relaxed)));
    breaker.Set("overflow",
                Napi::Number::New(env, static_cast<double>(pool_load_->overflow.load(std::memory_order_relaxed))));
    stats.As<Napi::Object>().Set("circuitBreaker", breaker);
  }
  return stats;
}

Napi::Value BalancerObject::clear_ejection(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!running_ || stopping_) return Napi::Number::New(env, 0);  // nothing is ejected any more
  if (info.Length() < 1 || !info[0].IsNumber()) {
    return throw_error(env, "LB_ERR_CONFIG", "clearEjection: expected a backend id");
  }
  return Napi::Number::New(env, balancer_->clear_ejection(info[0].As<Napi::Number>().Uint32Value()));
}

Napi::Value BalancerObject::set_acme_challenges(const Napi::CallbackInfo& info) {
  // setAcmeChallenges({token: keyAuthorization, ...}) turns the responder on (an empty
  // object too: the balancer then owns the challenge path); null turns it off.
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !(info[0].IsObject() || info[0].IsNull())) {
    return throw_error(env, "LB_ERR_CONFIG",
                       "setAcmeChallenges: expected an object of token: key authorization, or null");
  }
  std::shared_ptr<const http1::AcmeChallengeTable> table;
  if (info[0].IsObject()) {
    Napi::Object object = info[0].As<Napi::Object>();
    Napi::Array tokens = object.GetPropertyNames();
    std::vector<std::pair<std::string, std::string>> entries;
    for (uint32_t i = 0; i < tokens.Length(); ++i) {
      Napi::Value token = tokens.Get(i);
      Napi::Value value = object.Get(token);
      if (!value.IsString()) {
        return throw_error(env, "LB_ERR_CONFIG",
                           "setAcmeChallenges: token '" + token.ToString().Utf8Value() + "': expected a string");
      }
      entries.emplace_back(token.ToString().Utf8Value(), value.As<Napi::String>().Utf8Value());
    }
    auto built = std::make_shared<http1::AcmeChallengeTable>();
    std::string error;
    if (!built->assign(std::move(entries), error))
      return throw_error(env, "LB_ERR_CONFIG", "setAcmeChallenges: " + error);
    table = std::move(built);
  }
  acme_challenges_ = table;
  if (running_ && !stopping_) balancer_->set_acme_challenges(std::move(table));
  return env.Undefined();
}

Napi::Value BalancerObject::set_acme_alpn_challenges(const Napi::CallbackInfo& info) {
  // setAcmeAlpnChallenges({name: {cert, key}, ...}): the TLS-ALPN-01 challenge
  // certificates every TLS listener shows to a validator offering acme-tls/1; null or an
  // empty object: none pending. Kept for start() and every update(), like the HTTP-01 table.
  Napi::Env env = info.Env();
  const char* usage = "setAcmeAlpnChallenges: expected an object of name: { cert, key } (PEM), or null";
  if (info.Length() < 1 || !(info[0].IsObject() || info[0].IsNull())) return throw_error(env, "LB_ERR_CONFIG", usage);
  std::shared_ptr<const tls::AcmeAlpnChallenges> challenges;
  if (info[0].IsObject()) {
    Napi::Object object = info[0].As<Napi::Object>();
    Napi::Array names = object.GetPropertyNames();
    std::vector<tls::AcmeAlpnChallenge> entries;
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).ToString().Utf8Value();
      Napi::Value value = object.Get(name);
      Napi::Value cert = value.IsObject() ? value.As<Napi::Object>().Get("cert") : env.Undefined();
      Napi::Value key = value.IsObject() ? value.As<Napi::Object>().Get("key") : env.Undefined();
      if (!cert.IsString() || !key.IsString()) {
        return throw_error(env, "LB_ERR_CONFIG",
                           "setAcmeAlpnChallenges: '" + name + "': expected { cert, key } as PEM strings");
      }
      entries.push_back({name, cert.As<Napi::String>().Utf8Value(), key.As<Napi::String>().Utf8Value()});
    }
    std::string error;
    challenges = tls::AcmeAlpnChallenges::create(entries, error);
    if (!challenges) return throw_error(env, "LB_ERR_CONFIG", "setAcmeAlpnChallenges: " + error);
    if (challenges->empty()) challenges = nullptr;
  }
  acme_alpn_challenges_ = challenges;
  if (running_ && !stopping_) balancer_->set_acme_alpn_challenges(std::move(challenges));
  return env.Undefined();
}

Napi::Value BalancerObject::set_ticket_keys(const Napi::CallbackInfo& info) {
  // setTicketKeys(buffer): concatenated 80-byte keys (name, HMAC key, AES key), the first
  // one sealing new tickets, every one accepted. Before start() they are kept for it.
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    return throw_error(env, "LB_ERR_CONFIG", "setTicketKeys: expected a Buffer of 80-byte keys");
  }
  Napi::Buffer<unsigned char> bytes = info[0].As<Napi::Buffer<unsigned char>>();
  tls::TicketKeyRing ring;
  std::string error;
  if (!tls::TicketKeyRing::parse(bytes.Data(), bytes.Length(), ring, error)) {
    return throw_error(env, "LB_ERR_CONFIG", "setTicketKeys: " + error);
  }
  ticket_keys_ = ring;
  if (running_ && !stopping_) balancer_->set_ticket_keys(std::move(ring));
  return env.Undefined();
}

Napi::Value BalancerObject::bound_port(const Napi::CallbackInfo& info) {
  // boundPort(listener = 0): that listener's port.
  uint32_t listener = info.Length() >= 1 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  return Napi::Number::New(info.Env(), balancer_ ? balancer_->bound_port(listener) : 0);
}

Napi::Value BalancerObject::rebind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!running_ || stopping_) return throw_error(env, "LB_ERR_STATE", "rebind: the balancer is not running");
  // rebind(listener, {listenHost, listenPort, backlog}): moves one listener.
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsObject()) {
    return throw_error(env, "LB_ERR_CONFIG", "rebind: expected (listener index, {listenHost, listenPort, backlog})");
  }
  uint32_t listener = info[0].As<Napi::Number>().Uint32Value();
  Napi::Object object = info[1].As<Napi::Object>();
  net::SocketAddress address;
  std::string error;
  const std::string path = "listeners[" + std::to_string(listener) + "].";
  if (!read_listen_address(object, path, address, error)) return throw_error(env, "LB_ERR_CONFIG", error);
  Napi::Value backlog_value = object.Get("backlog");
  int backlog = backlog_value.IsNumber() ? backlog_value.As<Napi::Number>().Int32Value() : 0;
  if (backlog < 0 || backlog > 65535) return throw_error(env, "LB_ERR_CONFIG", "backlog: expected 0 to 65535");
  net::ListenError listen_error;
  if (!balancer_->rebind(listener, address, backlog, listen_error)) {
    throw_listen_error(env, listen_error);
  }
  return env.Undefined();
}

Napi::Value BalancerObject::stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double deadline = 0;
  if (info.Length() >= 1 && info[0].IsNumber()) deadline = info[0].As<Napi::Number>().DoubleValue();
  if (deadline < 0) deadline = 0;
  Napi::Function done = info.Length() >= 2 && info[1].IsFunction() ? info[1].As<Napi::Function>() : Napi::Function();
  if (!running_) {
    if (!done.IsEmpty()) done.Call({});
    return env.Undefined();
  }
  if (!done.IsEmpty()) on_stopped_.push_back(Napi::Persistent(done));
  if (stopping_) return env.Undefined();  // already on its way; `done` is called with the rest
  stopping_ = true;
  balancer_->request_stop(static_cast<uint32_t>(deadline));
  // Joining blocks, so it happens off the JavaScript thread; the last bridge call tells
  // JavaScript that every worker has ended.
  stopper_ = std::thread([this] {
    balancer_->join();
    bridge_.BlockingCall(new bool(true));
    bridge_.Release();
  });
  return env.Undefined();
}

void BalancerObject::deliver(Napi::Env env, Napi::Function callback, BalancerObject* self, bool* stopped) {
  bool is_final = stopped != nullptr && *stopped;
  delete stopped;
  if (env == nullptr) return;  // the environment is going away
  (void)callback;
  self->drain_events(env);
  if (!is_final) return;
  if (self->stopper_.joinable()) self->stopper_.join();
  // The stopped balancer is kept so that its final counters stay readable; the next
  // start() replaces it.
  self->running_ = false;
  self->stopping_ = false;
  std::vector<Napi::FunctionReference> callbacks = std::move(self->on_stopped_);
  self->on_stopped_.clear();
  self->Unref();
  for (Napi::FunctionReference& callback : callbacks) callback.Call({});
}

void BalancerObject::drain_events(Napi::Env env) {
  if (!balancer_) return;
  Napi::Array batch = Napi::Array::New(env);
  uint32_t count = 0;
  balancer_->drain_events([&](const stats::Event& event) { batch.Set(count++, to_js(env, event)); });
  balancer_->drain_access_log([&](const stats::AccessRecord& record) { batch.Set(count++, to_js(env, record)); });
  if (count > 0) on_events_.Call({batch});
}

void BalancerObject::shut_down_now() {
  if (balancer_) balancer_->request_stop(0);
  if (stopper_.joinable()) stopper_.join();
  if (balancer_) balancer_->join();
}

void BalancerObject::cleanup_hook(void* self) {
  // The process or worker thread is exiting with the balancer running: end the workers
  // so that none outlives the environment. The thread-safe function is finalised by Node.
  auto* object = static_cast<BalancerObject*>(self);
  object->cleanup_hook_added_ = false;
  object->shut_down_now();
}

}  // namespace lb::addon
