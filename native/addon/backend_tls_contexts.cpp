#include "addon/backend_tls_contexts.h"

namespace lb::addon {

namespace {

bool read_optional_string(const Napi::Object& object, const std::string& path, const char* key, std::string& out,
                          std::string& error) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined()) return true;
  if (!value.IsString()) {
    error = path + key + ": expected a string";
    return false;
  }
  out = value.As<Napi::String>().Utf8Value();
  return true;
}

}  // namespace

bool BackendTlsContexts::read(const Napi::Object& object, bool tcp_mode, std::vector<upstream::BackendTls>& out,
                              std::string& error) {
  out.clear();
  Napi::Value backends_value = object.Get("backends");
  if (!backends_value.IsArray()) {
    error = "backends: expected an array";
    return false;
  }
  Napi::Array backends = backends_value.As<Napi::Array>();
  std::map<Key, std::shared_ptr<const tls::TlsClientContext>> used;
  for (uint32_t i = 0; i < backends.Length(); ++i) {
    out.emplace_back();
    Napi::Value item = backends.Get(i);
    if (!item.IsObject()) continue;  // read_backends names it
    Napi::Value tls_value = item.As<Napi::Object>().Get("tls");
    if (tls_value.IsUndefined()) continue;
    std::string path = "backends[" + std::to_string(i) + "].tls.";
    if (!tls_value.IsObject()) {
      error = "backends[" + std::to_string(i) + "].tls: expected an object";
      return false;
    }
    if (tcp_mode) {
      error = "backends[" + std::to_string(i) + "].tls: not in tcp mode (bytes pass through untouched there)";
      return false;
    }
    Napi::Object tls_object = tls_value.As<Napi::Object>();
    Napi::Value verify = tls_object.Get("verify");
    if (!verify.IsBoolean()) {
      error = path + "verify: expected a boolean";
      return false;
    }
    Key key{verify.As<Napi::Boolean>().Value(), {}};
    if (!read_optional_string(tls_object, path, "ca", key.second, error)) return false;
    if (!read_optional_string(tls_object, path, "serverName", out.back().server_name, error)) return false;
    auto found = used.find(key);
    if (found == used.end()) {
      auto kept = contexts_.find(key);
      std::shared_ptr<const tls::TlsClientContext> context;
      if (kept != contexts_.end()) {
        context = kept->second;
      } else {
        tls::TlsClientSettings settings;
        settings.verify_peer = key.first;
        settings.ca_pem = key.second;
        std::string problem;
        context = tls::TlsClientContext::create(settings, problem);
        if (!context) {
          error = path + "ca: " + problem;
          return false;
        }
      }
      found = used.emplace(key, std::move(context)).first;
    }
    out.back().context = found->second;
  }
  contexts_.swap(used);  // only what this configuration uses is kept
  return true;
}

}  // namespace lb::addon
