#include "addon/config_conversion.h"

#include "proxy/exchange.h"

#include <cctype>
#include <cmath>
#include <limits>

namespace lb::addon {

namespace {

// Reads an integer field within [min, max]; on failure names the field and the range.
bool read_integer(const Napi::Object& object, const char* path, const char* key, double min, double max, double& out,
                  std::string& error) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) {
    error = std::string(path) + key + ": expected a number";
    return false;
  }
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::floor(number) != number || number < min || number > max) {
    error = std::string(path) + key + ": expected an integer from " + std::to_string(static_cast<long long>(min)) +
            " to " + std::to_string(static_cast<long long>(max));
    return false;
  }
  out = number;
  return true;
}

template <typename T>
bool read_uint(const Napi::Object& object, const char* path, const char* key, double min, double max, T& out,
               std::string& error) {
  double number = 0;
  if (!read_integer(object, path, key, min, max, number, error)) return false;
  out = static_cast<T>(number);
  return true;
}

bool read_string(const Napi::Object& object, const char* path, const char* key, std::string& out, std::string& error) {
  Napi::Value value = object.Get(key);
  if (!value.IsString()) {
    error = std::string(path) + key + ": expected a string";
    return false;
  }
  out = value.As<Napi::String>().Utf8Value();
  return true;
}

bool read_object(const Napi::Object& object, const char* path, const char* key, Napi::Object& out, std::string& error) {
  Napi::Value value = object.Get(key);
  if (!value.IsObject()) {
    error = std::string(path) + key + ": expected an object";
    return false;
  }
  out = value.As<Napi::Object>();
  return true;
}

constexpr double kMaxU32 = std::numeric_limits<uint32_t>::max();
constexpr double kMaxSafe = 9007199254740991.0;

}  // namespace

bool read_listen_settings(const Napi::Object& object, runtime::ListenSettings& out, std::string& error) {
  std::string host;
  uint16_t port = 0;
  if (!read_string(object, "", "listenHost", host, error)) return false;
  if (!read_uint(object, "", "listenPort", 0, 65535, port, error)) return false;
  if (!net::SocketAddress::parse(host, port, out.address)) {
    error = "listenHost: expected a numeric IPv4 or IPv6 address, got '" + host + "'";
    return false;
  }
  if (!read_uint(object, "", "backlog", 0, 1 << 20, out.backlog, error)) return false;
  if (!read_uint(object, "", "workers", 1, 1024, out.workers, error)) return false;
  return true;
}

bool read_proxy_config(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error) {
  std::string mode;
  if (!read_string(object, "", "mode", mode, error)) return false;
  if (mode == "http") {
    out.mode = proxy::ProxyMode::http;
  } else if (mode == "redirect") {
    out.mode = proxy::ProxyMode::redirect;
  } else if (mode == "tcp") {
    out.mode = proxy::ProxyMode::tcp;
  } else {
    error = "mode: expected http, redirect or tcp, got '" + mode + "'";
    return false;
  }
  if (object.Has("redirectStatus")) {
    if (!read_uint(object, "", "redirectStatus", 300, 399, out.redirect_status, error)) return false;
    uint16_t status = out.redirect_status;
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
      error = "redirectStatus: expected 301, 302, 303, 307 or 308, got " + std::to_string(status);
      return false;
    }
  }
  if (object.Has("proxyProtocol")) {
    std::string version;
    if (!read_string(object, "", "proxyProtocol", version, error)) return false;
    if (version == "none") {
      out.proxy_protocol = proxy::ProxyProtocol::none;
    } else if (version == "v1") {
      out.proxy_protocol = proxy::ProxyProtocol::v1;
    } else if (version == "v2") {
      out.proxy_protocol = proxy::ProxyProtocol::v2;
    } else {
      error = "proxyProtocol: expected none, v1 or v2, got '" + version + "'";
      return false;
    }
  }
  std::string strategy;
  if (!read_string(object, "", "strategy", strategy, error)) return false;
  if (!balancing::parse_strategy(strategy, out.upstream.strategy)) {
    error = "strategy: not supported by the native core: '" + strategy + "'";
    return false;
  }

  if (object.Has("hashHeader") && !object.Get("hashHeader").IsUndefined()) {
    if (!read_string(object, "", "hashHeader", out.hash_header, error)) return false;
  }
  if (object.Has("cookieName") && !object.Get("cookieName").IsUndefined()) {
    if (!read_string(object, "", "cookieName", out.cookie_name, error)) return false;
    for (char c : out.cookie_name) {
      bool token = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      if (!token) {
        error = "cookieName: expected letters, digits, '_', '-' or '.'";
        return false;
      }
    }
    if (out.cookie_name.empty() || out.cookie_name.size() > 64) {
      error = "cookieName: expected 1 to 64 characters";
      return false;
    }
  }

  Napi::Value backends_value = object.Get("backends");
  if (!backends_value.IsArray()) {
    error = "backends: expected an array";
    return false;
  }
  Napi::Array backends = backends_value.As<Napi::Array>();
  for (uint32_t i = 0; i < backends.Length(); ++i) {
    std::string path = "backends[" + std::to_string(i) + "].";
    Napi::Value item = backends.Get(i);
    if (!item.IsObject()) {
      error = "backends[" + std::to_string(i) + "]: expected an object";
      return false;
    }
    Napi::Object backend = item.As<Napi::Object>();
    balancing::BackendSpec spec;
    std::string host;
    std::string state;
    uint16_t port = 0;
    if (!read_uint(backend, path.c_str(), "id", 0, kMaxU32, spec.id, error)) return false;
    if (!read_string(backend, path.c_str(), "host", host, error)) return false;
    if (!read_uint(backend, path.c_str(), "port", 1, 65535, port, error)) return false;
    if (!read_uint(backend, path.c_str(), "weight", 0, 1000000, spec.weight, error)) return false;
    if (!read_string(backend, path.c_str(), "state", state, error)) return false;
    if (!net::SocketAddress::parse(host, port, spec.address)) {
      error = path + "host: expected a numeric IPv4 or IPv6 address, got '" + host + "'";
      return false;
    }
    Napi::Value healthy = backend.Get("healthy");
    if (!healthy.IsUndefined()) {
      if (!healthy.IsBoolean()) {
        error = path + "healthy: expected a boolean";
        return false;
      }
      spec.healthy = healthy.As<Napi::Boolean>().Value();
    }
    if (state == "ready") {
      spec.state = balancing::BackendState::ready;
    } else if (state == "drain") {
      spec.state = balancing::BackendState::drain;
    } else if (state == "maint") {
      spec.state = balancing::BackendState::maint;
    } else {
      error = path + "state: expected ready, drain or maint, got '" + state + "'";
      return false;
    }
    spec.label = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
    if (backend.Has("publicUrl") && !backend.Get("publicUrl").IsUndefined()) {
      if (!read_string(backend, path.c_str(), "publicUrl", spec.public_url, error)) return false;
      // The URL goes into a Location header: no control bytes or spaces, no trailing '/'.
      for (char c : spec.public_url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
          error = path + "publicUrl: must not contain spaces or control characters";
          return false;
        }
      }
      while (!spec.public_url.empty() && spec.public_url.back() == '/') spec.public_url.pop_back();
    } else {
      spec.public_url = "http://" + spec.label;
    }
    for (const balancing::BackendSpec& other : out.upstream.backends) {
      if (other.id == spec.id) {
        error = path + "id: duplicate id " + std::to_string(spec.id);
        return false;
      }
    }
    out.upstream.backends.push_back(std::move(spec));
  }

  Napi::Object timeouts;
  if (!read_object(object, "", "timeouts", timeouts, error)) return false;
  proxy::Timeouts& t = out.timeouts;
  if (!read_uint(timeouts, "timeouts.", "connectMs", 1, kMaxU32, t.connect_ms, error) ||
      !read_uint(timeouts, "timeouts.", "responseMs", 1, kMaxU32, t.response_ms, error) ||
      !read_uint(timeouts, "timeouts.", "clientHeadMs", 1, kMaxU32, t.client_head_ms, error) ||
      !read_uint(timeouts, "timeouts.", "keepAliveMs", 1, kMaxU32, t.keep_alive_ms, error) ||
      !read_uint(timeouts, "timeouts.", "backendIdleMs", 1, kMaxU32, t.backend_idle_ms, error)) {
    return false;
  }

  Napi::Object limits;
  if (!read_object(object, "", "limits", limits, error)) return false;
  http1::HeadLimits head;
  if (!read_uint(limits, "limits.", "maxStartLine", 16, 65536, head.max_start_line, error) ||
      !read_uint(limits, "limits.", "maxHeadBytes", 64, 1 << 20, head.max_head_bytes, error) ||
      !read_uint(limits, "limits.", "maxHeaderCount", 1, http1::kMaxHeaderFields, head.max_header_count, error) ||
      !read_uint(limits, "limits.", "maxBodyBytes", 0, kMaxSafe, out.limits.max_body_bytes, error) ||
      !read_uint(limits, "limits.", "maxClientConnections", 0, kMaxU32, out.limits.max_client_connections, error)) {
    return false;
  }
  out.limits.request_head = head;
  // Responses come from our own backends: the same header count, and room for the
  // bigger heads some applications send (cookies).
  out.limits.response_head = head;

  Napi::Object pool;
  if (!read_object(object, "", "pool", pool, error)) return false;
  if (!read_uint(pool, "pool.", "maxIdlePerBackend", 0, 1 << 20, out.pool.max_idle_per_backend, error) ||
      !read_uint(pool, "pool.", "surplusIdleMs", 0, 3600000, out.pool.surplus_idle_ms, error) ||
      !read_uint(pool, "pool.", "tcpKeepAliveIdleSec", 1, 32767, out.pool.tcp_keep_alive.idle_sec, error) ||
      !read_uint(pool, "pool.", "tcpKeepAliveIntervalSec", 1, 32767, out.pool.tcp_keep_alive.interval_sec, error) ||
      !read_uint(pool, "pool.", "tcpKeepAliveCount", 1, 127, out.pool.tcp_keep_alive.count, error)) {
    return false;
  }

  // Optional timeouts (defaults from proxy::Timeouts).
  if (timeouts.Has("clientBodyMs") &&
      !read_uint(timeouts, "timeouts.", "clientBodyMs", 1, kMaxU32, t.client_body_ms, error)) {
    return false;
  }
  if (timeouts.Has("clientBodyTotalMs") &&
      !read_uint(timeouts, "timeouts.", "clientBodyTotalMs", 0, kMaxU32, t.client_body_total_ms, error)) {
    return false;
  }
  if (timeouts.Has("tunnelIdleMs") &&
      !read_uint(timeouts, "timeouts.", "tunnelIdleMs", 1, kMaxU32, t.tunnel_idle_ms, error)) {
    return false;
  }

  Napi::Value outlier_value = object.Get("outlierDetection");
  if (!outlier_value.IsUndefined()) {
    if (!outlier_value.IsObject()) {
      error = "outlierDetection: expected an object";
      return false;
    }
    Napi::Object outlier = outlier_value.As<Napi::Object>();
    upstream::OutlierDetection& o = out.upstream.outlier;
    if (!read_uint(outlier, "outlierDetection.", "consecutiveFailures", 0, 1000000, o.consecutive_failures, error) ||
        !read_uint(outlier, "outlierDetection.", "baseEjectionMs", 1, kMaxU32, o.base_ejection_ms, error) ||
        !read_uint(outlier, "outlierDetection.", "maxEjectionPercent", 0, 100, o.max_ejection_percent, error) ||
        !read_uint(outlier, "outlierDetection.", "slowStartMs", 0, kMaxU32, o.slow_start_ms, error)) {
      return false;
    }
  }
  Napi::Value retries_value = object.Get("retries");
  if (!retries_value.IsUndefined()) {
    if (!retries_value.IsObject()) {
      error = "retries: expected an object";
      return false;
    }
    Napi::Object retries = retries_value.As<Napi::Object>();
    upstream::RetryPolicy& r = out.upstream.retries;
    if (!read_uint(retries, "retries.", "maxTries", 1, proxy::kMaxConnectTries, r.max_tries, error) ||
        !read_uint(retries, "retries.", "budgetPercent", 0, 1000, r.budget_percent, error) ||
        !read_uint(retries, "retries.", "minPerSecond", 0, 1000000, r.min_per_second, error)) {
      return false;
    }
  }

  Napi::Value access_log = object.Get("accessLogSampleRate");
  if (!access_log.IsUndefined()) {
    double rate = access_log.IsNumber() ? access_log.As<Napi::Number>().DoubleValue() : -1;
    if (!(rate >= 0 && rate <= 1)) {
      error = "accessLogSampleRate: expected a number from 0 to 1";
      return false;
    }
    out.access_log_sample_rate = rate;
  }

  Napi::Value headers_value = object.Get("headers");
  if (!headers_value.IsUndefined()) {
    if (!headers_value.IsObject()) {
      error = "headers: expected an object";
      return false;
    }
    using Underscores = http1::HeaderPolicy::Underscores;
    std::string underscores;
    if (!read_string(headers_value.As<Napi::Object>(), "headers.", "underscores", underscores, error)) return false;
    if (underscores == "drop") {
      out.headers.underscores = Underscores::drop;
    } else if (underscores == "keep") {
      out.headers.underscores = Underscores::keep;
    } else if (underscores == "reject") {
      out.headers.underscores = Underscores::reject;
    } else {
      error = "headers.underscores: expected drop, keep or reject, got '" + underscores + "'";
      return false;
    }
  }

  using Mode = http1::ForwardedPolicy::Mode;
  Napi::Value forwarded_value = object.Get("forwarded");
  if (forwarded_value.IsObject()) {
    Napi::Object forwarded = forwarded_value.As<Napi::Object>();
    std::string mode;
    if (!read_string(forwarded, "forwarded.", "mode", mode, error)) return false;
    if (mode == "x-forwarded") {
      out.forwarded.mode = Mode::x_forwarded;
    } else if (mode == "forwarded") {
      out.forwarded.mode = Mode::forwarded;
    } else if (mode == "none") {
      out.forwarded.mode = Mode::none;
    } else {
      error = "forwarded.mode: expected x-forwarded, forwarded or none, got '" + mode + "'";
      return false;
    }
    Napi::Value trust = forwarded.Get("trustIncoming");
    if (!trust.IsBoolean()) {
      error = "forwarded.trustIncoming: expected a boolean";
      return false;
    }
    out.forwarded.trust_incoming = trust.As<Napi::Boolean>().Value();
  } else {
    Napi::Value xff = object.Get("xForwardedFor");
    if (!xff.IsBoolean()) {
      error = "forwarded: expected an object with mode and trustIncoming";
      return false;
    }
    out.forwarded.mode = xff.As<Napi::Boolean>().Value() ? Mode::x_forwarded : Mode::none;
  }
  return true;
}

}  // namespace lb::addon
