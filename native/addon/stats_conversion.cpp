#include "addon/stats_conversion.h"

namespace lb::addon {

namespace {
void set(Napi::Object& object, const char* key, uint64_t value) {
  object.Set(key, Napi::Number::New(object.Env(), static_cast<double>(value)));
}
}  // namespace

Napi::Object to_js(Napi::Env env, const core::BalancerStats& stats) {
  Napi::Object out = Napi::Object::New(env);
  set(out, "workers", stats.workers);
  set(out, "acceptedConnections", stats.accepted_connections);
  set(out, "activeClientConnections", stats.active_client_connections);
  set(out, "requests", stats.requests);
  set(out, "responses1xx", stats.responses_by_class[1]);
  set(out, "responses2xx", stats.responses_by_class[2]);
  set(out, "responses3xx", stats.responses_by_class[3]);
  set(out, "responses4xx", stats.responses_by_class[4]);
  set(out, "responses5xx", stats.responses_by_class[5]);
  set(out, "badRequests", stats.bad_requests);
  set(out, "noBackend", stats.no_backend);
  set(out, "badGateway", stats.bad_gateway);
  set(out, "gatewayTimeout", stats.gateway_timeout);
  set(out, "bytesFromClients", stats.bytes_from_clients);
  set(out, "bytesToClients", stats.bytes_to_clients);
  set(out, "eventsDropped", stats.events_dropped);
  Napi::Array backends = Napi::Array::New(env, stats.backends.size());
  for (size_t i = 0; i < stats.backends.size(); ++i) {
    const core::BackendStats& b = stats.backends[i];
    Napi::Object backend = Napi::Object::New(env);
    set(backend, "id", b.id);
    set(backend, "requests", b.requests);
    set(backend, "responses1xx", b.responses_by_class[1]);
    set(backend, "responses2xx", b.responses_by_class[2]);
    set(backend, "responses3xx", b.responses_by_class[3]);
    set(backend, "responses4xx", b.responses_by_class[4]);
    set(backend, "responses5xx", b.responses_by_class[5]);
    set(backend, "connectErrors", b.connect_errors);
    set(backend, "backendErrors", b.backend_errors);
    set(backend, "retries", b.retries);
    set(backend, "bytesToBackend", b.bytes_to_backend);
    set(backend, "bytesFromBackend", b.bytes_from_backend);
    set(backend, "activeConnections", b.active_connections);
    set(backend, "idleConnections", b.idle_connections);
    set(backend, "connectionsOpened", b.connections_opened);
    set(backend, "ejections", b.ejections);
    set(backend, "ejectedWorkers", b.ejected_workers);
    backends.Set(static_cast<uint32_t>(i), backend);
  }
  out.Set("backends", backends);
  return out;
}

Napi::Object to_js(Napi::Env env, const stats::Event& event) {
  Napi::Object out = Napi::Object::New(env);
  switch (event.type) {
    case stats::EventType::backend_ejected:
      out.Set("type", "backend-ejected");
      set(out, "backendId", event.backend_id);
      out.Set("reason", Napi::String::New(env, event.message));
      set(out, "ejectionMs", event.duration_ms);
      break;
    case stats::EventType::backend_recovered:
      out.Set("type", "backend-recovered");
      set(out, "backendId", event.backend_id);
      break;
    case stats::EventType::backend_drained:
      out.Set("type", "backend-drained");
      set(out, "backendId", event.backend_id);
      break;
    case stats::EventType::error:
      out.Set("type", "error");
      out.Set("code", Napi::String::New(env, event.code));
      out.Set("message", Napi::String::New(env, event.message));
      break;
  }
  set(out, "worker", event.worker);
  return out;
}

}  // namespace lb::addon
