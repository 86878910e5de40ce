// Reads the configuration object the TypeScript layer built (NativeConfig in
// src/native.ts, built by src/config/to-native.ts) into native structures. TypeScript
// validates first; this checks again at the boundary so a bad value can never reach a
// worker, and names the field. Scalar options come from the table in config_table.cpp;
// what is read here by hand is structure: mode, strategy, backends, header policies.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "proxy/proxy_config.h"
#include "runtime/balancer.h"
#include "tls/tls_server_context.h"

namespace lb::addon {

// `listeners[].listenHost/listenPort`, `backlog` and `workers`: what binding needs.
bool read_listen_settings(const Napi::Object& object, runtime::ListenSettings& out, std::string& error);
// One `{ listenHost, listenPort }` (error paths start with `path`, e.g. "listeners[1].").
bool read_listen_address(const Napi::Object& object, const std::string& path, net::SocketAddress& out,
                         std::string& error);
bool read_proxy_config(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error);

// One listener's protocol side as read: its policy without a TLS context, and the TLS
// settings (certificates as PEM, the control plane having read the files) the caller
// turns into one (addon/tls_context_cache.h). `tls` with no certificate: a listener
// that waits for its first ACME certificate.
struct ListenerReading {
  bool tls = false;
  tls::TlsServerSettings tls_settings;
  proxy::ListenerPolicy policy;
};
bool read_listeners(const Napi::Object& object, std::vector<ListenerReading>& out, std::string& error);

}  // namespace lb::addon
