#include "addon/stats_conversion.h"

namespace lb::addon {

namespace {
void set(Napi::Object& object, const char* key, uint64_t value) {
  object.Set(key, Napi::Number::New(object.Env(), static_cast<double>(value)));
}
}  // namespace

Napi::Object to_js(Napi::Env env, const protection::EdgeStats& stats) {
  Napi::Object out = Napi::Object::New(env);
  set(out, "denied", stats.denied);
  set(out, "connectionsLimited", stats.connections_limited);
  set(out, "connectionTableFull", stats.connection_table_full);
  set(out, "rateLimited", stats.rate_limited);
  set(out, "rateTableKeys", stats.rate_table_keys);
  set(out, "rateTableEvictions", stats.rate_table_evictions);
  set(out, "rateTableBytes", stats.rate_table_bytes);
  set(out, "clientsWithConnections", stats.clients_with_connections);
  set(out, "connectionTableBytes", stats.connection_table_bytes);
  Napi::Array by_rule = Napi::Array::New(env, protection::EdgeRules::kMaxRateRules);
  for (size_t r = 0; r < protection::EdgeRules::kMaxRateRules; ++r) {
    by_rule.Set(static_cast<uint32_t>(r), Napi::Number::New(env, static_cast<double>(stats.rule_limited[r])));
  }
  out.Set("limitedByRule", by_rule);
  return out;
}

Napi::Object to_js(Napi::Env env, const runtime::BalancerStats& stats) {
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
  set(out, "panicRouted", stats.panic_routed);
  set(out, "badGateway", stats.bad_gateway);
  set(out, "gatewayTimeout", stats.gateway_timeout);
  set(out, "bytesFromClients", stats.bytes_from_clients);
  set(out, "bytesToClients", stats.bytes_to_clients);
  set(out, "eventsDropped", stats.events_dropped);
  set(out, "accessLogDropped", stats.access_log_dropped);
  Napi::Array bounds = Napi::Array::New(env, stats::LatencyHistogram::kBuckets - 1);
  for (size_t b = 0; b + 1 < stats::LatencyHistogram::kBuckets; ++b) {
    bounds.Set(static_cast<uint32_t>(b), Napi::Number::New(env, stats::LatencyHistogram::kBoundsUs[b] / 1000.0));
  }
  out.Set("latencyBoundsMs", bounds);
  Napi::Array backends = Napi::Array::New(env, stats.backends.size());
  for (size_t i = 0; i < stats.backends.size(); ++i) {
    const runtime::BackendStats& b = stats.backends[i];
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
    set(backend, "inFlight", b.in_flight);
    set(backend, "queued", b.queued);
    set(backend, "dequeued", b.dequeued);
    set(backend, "queueWaitUsTotal", b.queue_wait_us_total);
    set(backend, "queueTimeouts", b.queue_timeouts);
    set(backend, "queueFull", b.queue_full);
    Napi::Array ttfb = Napi::Array::New(env, stats::LatencyHistogram::kBuckets);
    Napi::Array total = Napi::Array::New(env, stats::LatencyHistogram::kBuckets);
    for (size_t k = 0; k < stats::LatencyHistogram::kBuckets; ++k) {
      ttfb.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(b.ttfb_buckets[k])));
      total.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(b.total_buckets[k])));
    }
    backend.Set("timeToFirstByte", ttfb);
    backend.Set("totalTime", total);
    set(backend, "timeToFirstByteSumUs", b.ttfb_sum_us);
    set(backend, "totalTimeSumUs", b.total_sum_us);
    backends.Set(static_cast<uint32_t>(i), backend);
  }
  out.Set("backends", backends);
  out.Set("protection", to_js(env, stats.protection));
  return out;
}

Napi::Object to_js(Napi::Env env, const stats::AccessRecord& record) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", "access");
  set(out, "worker", record.worker);
  set(out, "time", record.unix_ms);
  out.Set("client", Napi::String::New(env, record.client));
  out.Set("method", Napi::String::New(env, record.method));
  out.Set("target", Napi::String::New(env, record.target));
  set(out, "status", record.status);
  if (record.has_backend) set(out, "backendId", record.backend_id);
  set(out, "timeToFirstByteUs", record.time_to_first_byte_us);
  set(out, "totalUs", record.total_us);
  set(out, "bytes", record.bytes_to_client);
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
      out.Set("reason", Napi::String::New(env, event.message));
      break;
    case stats::EventType::backend_error:
      out.Set("type", "backend-error");
      set(out, "backendId", event.backend_id);
      out.Set("code", Napi::String::New(env, event.code));
      out.Set("message", Napi::String::New(env, event.message));
      break;
    case stats::EventType::panic_routing:
      out.Set("type", "panic-routing");
      set(out, "backendId", event.backend_id);
      out.Set("message", Napi::String::New(env, event.message));
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
