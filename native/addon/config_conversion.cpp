#include "addon/config_conversion.h"

#include "addon/config_table.h"
#include "addon/protection_conversion.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <vector>

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

// One backend: its address, identity and state by hand, its numeric options from the table.
bool read_backend(const Napi::Object& backend, const std::string& path, balancing::BackendSpec& spec,
                  std::string& error) {
  std::string host;
  std::string state;
  uint16_t port = 0;
  if (!read_uint(backend, path.c_str(), "id", 0, kMaxU32, spec.id, error)) return false;
  if (!read_string(backend, path.c_str(), "host", host, error)) return false;
  if (!read_uint(backend, path.c_str(), "port", 1, 65535, port, error)) return false;
  if (!read_backend_options(backend, path, spec, error)) return false;
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
  return true;
}

bool read_backends(const Napi::Object& object, std::vector<balancing::BackendSpec>& out, std::string& error) {
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
    balancing::BackendSpec spec;
    if (!read_backend(item.As<Napi::Object>(), path, spec, error)) return false;
    for (const balancing::BackendSpec& other : out) {
      if (other.id == spec.id) {
        error = path + "id: duplicate id " + std::to_string(spec.id);
        return false;
      }
    }
    out.push_back(std::move(spec));
  }
  return true;
}

// The names the strategy, hash header and cookie options take.
bool read_strategy(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error) {
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
  return true;
}

// mode, redirectStatus and proxyProtocol.
bool read_mode(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error) {
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
  return true;
}

// headers.underscores and the forwarded section.
bool read_header_policies(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error) {
  Napi::Value headers_value = object.Get("headers");
  if (!headers_value.IsUndefined()) {
    Napi::Object headers;
    if (!read_object(object, "", "headers", headers, error)) return false;
    using Underscores = http1::HeaderPolicy::Underscores;
    std::string underscores;
    if (!read_string(headers, "headers.", "underscores", underscores, error)) return false;
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
  Napi::Object forwarded;
  if (!read_object(object, "", "forwarded", forwarded, error)) return false;
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
  return true;
}

}  // namespace

bool read_listen_address(const Napi::Object& object, const std::string& path, net::SocketAddress& out,
                         std::string& error) {
  std::string host;
  uint16_t port = 0;
  if (!read_string(object, path.c_str(), "listenHost", host, error)) return false;
  if (!read_uint(object, path.c_str(), "listenPort", 0, 65535, port, error)) return false;
  if (!net::SocketAddress::parse(host, port, out)) {
    error = path + "listenHost: expected a numeric IPv4 or IPv6 address, got '" + host + "'";
    return false;
  }
  return true;
}

namespace {

// `listeners`: a non-empty array of objects (at most 64: a connection carries its index).
bool read_listener_array(const Napi::Object& object, Napi::Array& out, std::string& error) {
  Napi::Value value = object.Get("listeners");
  if (!value.IsArray() || value.As<Napi::Array>().Length() == 0 || value.As<Napi::Array>().Length() > 64) {
    error = "listeners: expected an array of 1 to 64 listeners";
    return false;
  }
  out = value.As<Napi::Array>();
  for (uint32_t i = 0; i < out.Length(); ++i) {
    if (!out.Get(i).IsObject()) {
      error = "listeners[" + std::to_string(i) + "]: expected an object";
      return false;
    }
  }
  return true;
}

std::string listener_path(uint32_t index) { return "listeners[" + std::to_string(index) + "]."; }

// tls: the certificates as PEM (the control plane read the files; none while the
// listener waits for an ACME certificate) and the client CA.
bool read_listener_tls(const Napi::Object& tls_object, const std::string& path, tls::TlsServerSettings& out,
                       std::string& error) {
  Napi::Value certificates_value = tls_object.Get("certificates");
  if (!certificates_value.IsArray()) {
    error = path + "certificates: expected an array";
    return false;
  }
  Napi::Array certificates = certificates_value.As<Napi::Array>();
  for (uint32_t i = 0; i < certificates.Length(); ++i) {
    std::string at = path + "certificates[" + std::to_string(i) + "]";
    Napi::Value item = certificates.Get(i);
    if (!item.IsObject()) {
      error = at + ": expected an object";
      return false;
    }
    tls::TlsCertificatePem pem;
    at += ".";
    if (!read_string(item.As<Napi::Object>(), at.c_str(), "cert", pem.cert_chain_pem, error)) return false;
    if (!read_string(item.As<Napi::Object>(), at.c_str(), "key", pem.key_pem, error)) return false;
    out.certificates.push_back(std::move(pem));
  }
  Napi::Value ktls = tls_object.Get("ktls");
  if (!ktls.IsUndefined() && !ktls.IsBoolean()) {
    error = path + "ktls: expected a boolean";
    return false;
  }
  out.ktls = ktls.IsBoolean() && ktls.As<Napi::Boolean>().Value();
  Napi::Value client_value = tls_object.Get("clientCertificates");
  if (client_value.IsUndefined()) return true;
  Napi::Object client;
  if (!read_object(tls_object, path.c_str(), "clientCertificates", client, error)) return false;
  std::string client_path = path + "clientCertificates.";
  std::string verify;
  if (!read_string(client, client_path.c_str(), "ca", out.client_ca_pem, error)) return false;
  if (!read_string(client, client_path.c_str(), "verify", verify, error)) return false;
  if (verify == "optional") {
    out.client_verify = tls::ClientVerify::optional;
  } else if (verify == "required") {
    out.client_verify = tls::ClientVerify::required;
  } else {
    error = client_path + "verify: expected optional or required, got '" + verify + "'";
    return false;
  }
  return true;
}

// tls.clientCertificates.subjectHeader: a header name ("" when absent).
bool read_client_subject_header(const Napi::Object& tls_object, const std::string& path, std::string& out,
                                std::string& error) {
  Napi::Value client = tls_object.Get("clientCertificates");
  if (!client.IsObject() || client.As<Napi::Object>().Get("subjectHeader").IsUndefined()) return true;
  std::string client_path = path + "clientCertificates.";
  if (!read_string(client.As<Napi::Object>(), client_path.c_str(), "subjectHeader", out, error)) return false;
  bool token = !out.empty() && out.size() <= 64;
  for (char c : out) token = token && (std::isalnum(static_cast<unsigned char>(c)) || c == '-');
  if (!token) {
    error = client_path + "subjectHeader: expected a header name (letters, digits, '-'; at most 64)";
    return false;
  }
  return true;
}

// tls.hsts: the Strict-Transport-Security value ("" when absent).
bool read_hsts(const Napi::Object& tls_object, const std::string& path, std::string& out, std::string& error) {
  if (tls_object.Get("hsts").IsUndefined()) return true;
  if (!read_string(tls_object, path.c_str(), "hsts", out, error)) return false;
  // It goes into a header: printable ASCII, bounded.
  for (char c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      error = path + "hsts: expected printable ASCII (e.g. max-age=31536000)";
      return false;
    }
  }
  if (out.size() > 96) {
    error = path + "hsts: expected at most 96 characters";
    return false;
  }
  return true;
}

// httpsRedirect: { status, port }, when present.
bool read_https_redirect(const Napi::Object& object, const std::string& path, proxy::HttpsRedirect& out,
                         std::string& error) {
  Napi::Value value = object.Get("httpsRedirect");
  if (value.IsUndefined()) return true;
  Napi::Object redirect;
  if (!read_object(object, path.c_str(), "httpsRedirect", redirect, error)) return false;
  std::string at = path + "httpsRedirect.";
  if (!read_uint(redirect, at.c_str(), "status", 300, 399, out.status, error)) return false;
  if (out.status != 301 && out.status != 302 && out.status != 303 && out.status != 307 && out.status != 308) {
    error = at + "status: expected 301, 302, 303, 307 or 308, got " + std::to_string(out.status);
    return false;
  }
  if (!read_uint(redirect, at.c_str(), "port", 1, 65535, out.port, error)) return false;
  out.enabled = true;
  return true;
}

// http2 (ALPN h2 on TLS listeners, default on) and http2c (h2c prior knowledge on plain
// listeners, default off): optional booleans.
bool read_http2(const Napi::Object& object, proxy::Http2Settings& out, std::string& error) {
  for (const char* key : {"http2", "http2c"}) {
    Napi::Value value = object.Get(key);
    if (value.IsUndefined()) continue;
    if (!value.IsBoolean()) {
      error = std::string(key) + ": expected true or false";
      return false;
    }
    (std::string_view(key) == "http2" ? out.enabled : out.cleartext) = value.As<Napi::Boolean>().Value();
  }
  return true;
}

}  // namespace

bool read_listen_settings(const Napi::Object& object, runtime::ListenSettings& out, std::string& error) {
  Napi::Array listeners;
  if (!read_listener_array(object, listeners, error)) return false;
  for (uint32_t i = 0; i < listeners.Length(); ++i) {
    net::SocketAddress address;
    if (!read_listen_address(listeners.Get(i).As<Napi::Object>(), listener_path(i), address, error)) return false;
    out.addresses.push_back(address);
  }
  return read_listen_options(object, out, error);
}

bool read_listeners(const Napi::Object& object, std::vector<ListenerReading>& out, std::string& error) {
  Napi::Array listeners;
  if (!read_listener_array(object, listeners, error)) return false;
  out.assign(listeners.Length(), ListenerReading{});
  for (uint32_t i = 0; i < listeners.Length(); ++i) {
    Napi::Object listener = listeners.Get(i).As<Napi::Object>();
    std::string path = listener_path(i);
    ListenerReading& reading = out[i];
    if (!read_https_redirect(listener, path, reading.policy.https_redirect, error)) return false;
    Napi::Value tls_value = listener.Get("tls");
    if (tls_value.IsUndefined()) continue;
    Napi::Object tls_object;
    if (!read_object(listener, path.c_str(), "tls", tls_object, error)) return false;
    std::string tls_path = path + "tls.";
    reading.tls = true;
    if (!read_listener_tls(tls_object, tls_path, reading.tls_settings, error) ||
        !read_hsts(tls_object, tls_path, reading.policy.tls.hsts, error) ||
        !read_client_subject_header(tls_object, tls_path, reading.policy.tls.client_subject_header, error)) {
      return false;
    }
    if (reading.policy.https_redirect.enabled) {
      error = path + "httpsRedirect: only on a plain listener; this one has tls";
      return false;
    }
  }
  return true;
}

bool read_proxy_config(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error) {
  if (!read_mode(object, out, error) || !read_strategy(object, out, error) ||
      !read_backends(object, out.upstream.backends, error) || !read_proxy_options(object, out, error) ||
      !read_header_policies(object, out, error) || !read_protection(object, out.protection, error) ||
      !read_http2(object, out.http2, error)) {
    return false;
  }
  // Responses come from our own backends: the same limits as requests.
  out.limits.response_head = out.limits.request_head;
  return true;
}

}  // namespace lb::addon
