// Reads the configuration object the TypeScript layer built (NativeConfig in
// src/native.ts, built by src/config/to-native.ts) into native structures. TypeScript
// validates first; this checks again at the boundary so a bad value can never reach a
// worker, and names the field. Scalar options come from the table in config_table.cpp;
// what is read here by hand is structure: mode, strategy, backends, header policies.
#pragma once

#include <napi.h>

#include <string>

#include "proxy/proxy_config.h"
#include "runtime/balancer.h"
#include "tls/tls_server_context.h"

namespace lb::addon {

bool read_listen_settings(const Napi::Object& object, runtime::ListenSettings& out, std::string& error);
bool read_proxy_config(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error);
// The listener's `tls` section, if there is one (`present` false: a plain listener): the
// certificates as PEM, the control plane having read the files.
bool read_listener_tls(const Napi::Object& object, bool& present, tls::TlsServerSettings& out, std::string& error);

}  // namespace lb::addon
