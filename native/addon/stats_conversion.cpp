#include "addon/stats_conversion.h"

#include "http2/session_limits.h"

namespace lb::addon {

namespace {
void set(Napi::Object& object, const char* key, uint64_t value) {
  object.Set(key, Napi::Number::New(object.Env(), static_cast<double>(value)));
}

// responses1xx .. responses5xx from counters indexed by status / 100.
void set_response_classes(Napi::Object& object, const uint64_t (&by_class)[6]) {
  static constexpr const char* kKeys[6] = {nullptr,        "responses1xx", "responses2xx",
                                           "responses3xx", "responses4xx", "responses5xx"};
  for (size_t klass = 1; klass < 6; ++klass) set(object, kKeys[klass], by_class[klass]);
}

// One latency histogram's bucket counts.
Napi::Array bucket_counts(Napi::Env env, const uint64_t (&buckets)[stats::LatencyHistogram::kBuckets]) {
  Napi::Array out = Napi::Array::New(env, stats::LatencyHistogram::kBuckets);
  for (size_t k = 0; k < stats::LatencyHistogram::kBuckets; ++k) {
    out.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(buckets[k])));
  }
  return out;
}

// What an event of each type carries to JavaScript (NativeEvent in src/native.ts). Its
// fields are set in one order for every type: type, backendId, code, the message (under
// its own name), ejectionMs, worker.
struct EventShape {
  const char* type;
  bool backend_id;
  bool code;
  const char* message_key;  // "reason" or "message"; nullptr: no message
  bool ejection_ms;
};

EventShape shape_of(stats::EventType type) {
  switch (type) {
    case stats::EventType::backend_ejected: return {"backend-ejected", true, false, "reason", true};
    case stats::EventType::backend_recovered: return {"backend-recovered", true, false, "reason", false};
    case stats::EventType::backend_error: return {"backend-error", true, true, "message", false};
    case stats::EventType::panic_routing: return {"panic-routing", true, false, "message", false};
    case stats::EventType::backend_drained: return {"backend-drained", true, false, nullptr, false};
    case stats::EventType::error: break;
  }
  return {"error", false, true, "message", false};
}
}  // namespace

static Napi::Object to_js(Napi::Env env, const runtime::Http2Stats& stats) {
  Napi::Object out = Napi::Object::New(env);
  set(out, "connections", stats.connections);
  set(out, "requests", stats.requests);
  set(out, "streamsActive", stats.streams_active);
  set(out, "resetsByClient", stats.resets_by_client);
  set(out, "refusedStreams", stats.refused_streams);
  set(out, "malformedRequests", stats.malformed_requests);
  set(out, "stalledStreamsReset", stats.stalled_streams_reset);
  set(out, "headerListTooLarge", stats.header_list_too_large);
  set(out, "exchangesCancelled", stats.exchanges_cancelled);
  // Connections ended by each defence, by its name (http2::to_string).
  Napi::Object ended = Napi::Object::New(env);
  for (size_t d = 1; d < stats::WorkerCounters::kH2Defences; ++d) {
    set(ended, http2::to_string(static_cast<http2::Defence>(d)), stats.ended_by[d]);
  }
  out.Set("connectionsEndedBy", ended);
  return out;
}

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

// TLS handshakes and record-layer paths (NativeTlsStats in src/native.ts).
Napi::Object tls_to_js(Napi::Env env, const runtime::BalancerStats& stats) {
  static constexpr const char* kFailureKeys[stats::kTlsHandshakeFailureKinds] = {
      "timeout", "version", "noSharedCipher", "clientCertificate", "notTls", "closed", "other"};
  static constexpr const char* kUserspaceKeys[stats::kTlsUserspaceReasons] = {"ktlsOff", "noKernelTls",
                                                                              "opensslDeclined"};
  const stats::TlsTotals& tls = stats.tls;
  Napi::Object out = Napi::Object::New(env);
  set(out, "handshakesFull", tls.handshakes_full);
  set(out, "handshakesResumed", tls.handshakes_resumed);
  Napi::Object failures = Napi::Object::New(env);
  for (size_t i = 0; i < stats::kTlsHandshakeFailureKinds; ++i)
    set(failures, kFailureKeys[i], tls.handshake_failures[i]);
  out.Set("handshakeFailures", failures);
  set(out, "recordLayerKtls", tls.record_layer_ktls);
  Napi::Object userspace = Napi::Object::New(env);
  for (size_t i = 0; i < stats::kTlsUserspaceReasons; ++i)
    set(userspace, kUserspaceKeys[i], tls.record_layer_userspace[i]);
  out.Set("recordLayerUserspace", userspace);
  Napi::Object ktls = Napi::Object::New(env);
  ktls.Set("requested", Napi::Boolean::New(env, stats.ktls_requested));
  ktls.Set("kernel", Napi::Boolean::New(env, stats.ktls_support.kernel));
  ktls.Set("openssl", Napi::Boolean::New(env, stats.ktls_support.openssl));
  ktls.Set("detail", Napi::String::New(env, stats.ktls_support.detail));
  out.Set("ktls", ktls);
  return out;
}

Napi::Object to_js(Napi::Env env, const runtime::BalancerStats& stats) {
  Napi::Object out = Napi::Object::New(env);
  set(out, "workers", stats.workers);
  set(out, "acceptedConnections", stats.accepted_connections);
  set(out, "activeClientConnections", stats.active_client_connections);
  set(out, "requests", stats.requests);
  set_response_classes(out, stats.responses_by_class);
  set(out, "badRequests", stats.bad_requests);
  set(out, "noBackend", stats.no_backend);
  set(out, "panicRouted", stats.panic_routed);
  set(out, "badGateway", stats.bad_gateway);
  set(out, "gatewayTimeout", stats.gateway_timeout);
  set(out, "bytesFromClients", stats.bytes_from_clients);
  set(out, "bytesToClients", stats.bytes_to_clients);
  set(out, "bodiesCopied", stats.bodies_copied);
  set(out, "bodiesSpliced", stats.bodies_spliced);
  set(out, "bodyBytesSpliced", stats.body_bytes_spliced);
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
    set_response_classes(backend, b.responses_by_class);
    set(backend, "connectErrors", b.connect_errors);
    set(backend, "backendErrors", b.backend_errors);
    set(backend, "retries", b.retries);
    set(backend, "bytesToBackend", b.bytes_to_backend);
    set(backend, "bytesFromBackend", b.bytes_from_backend);
    set(backend, "activeConnections", b.active_connections);
    set(backend, "idleConnections", b.idle_connections);
    set(backend, "connectionsOpened", b.connections_opened);
    set(backend, "tlsHandshakesFull", b.tls_handshakes_full);
    set(backend, "tlsHandshakesResumed", b.tls_handshakes_resumed);
    set(backend, "tlsHandshakeFailures", b.tls_handshake_failures);
    set(backend, "ejections", b.ejections);
    set(backend, "ejectedWorkers", b.ejected_workers);
    set(backend, "inFlight", b.in_flight);
    set(backend, "queued", b.queued);
    set(backend, "dequeued", b.dequeued);
    set(backend, "queueWaitUsTotal", b.queue_wait_us_total);
    set(backend, "queueTimeouts", b.queue_timeouts);
    set(backend, "queueFull", b.queue_full);
    backend.Set("timeToFirstByte", bucket_counts(env, b.ttfb_buckets));
    backend.Set("totalTime", bucket_counts(env, b.total_buckets));
    set(backend, "timeToFirstByteSumUs", b.ttfb_sum_us);
    set(backend, "totalTimeSumUs", b.total_sum_us);
    backends.Set(static_cast<uint32_t>(i), backend);
  }
  out.Set("backends", backends);
  out.Set("protection", to_js(env, stats.protection));
  out.Set("tls", tls_to_js(env, stats));
  out.Set("http2", to_js(env, stats.http2));
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
  const EventShape shape = shape_of(event.type);
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", shape.type);
  if (shape.backend_id) set(out, "backendId", event.backend_id);
  if (shape.code) out.Set("code", Napi::String::New(env, event.code));
  if (shape.message_key != nullptr) out.Set(shape.message_key, Napi::String::New(env, event.message));
  if (shape.ejection_ms) set(out, "ejectionMs", event.duration_ms);
  set(out, "worker", event.worker);
  return out;
}

}  // namespace lb::addon
