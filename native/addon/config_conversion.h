// Reads the configuration object the TypeScript layer built (NativeConfig in
// src/native.ts) into native structures. TypeScript validates first; this checks again
// at the boundary so a bad value can never reach a worker, and names the field.
#pragma once

#include <napi.h>

#include <string>

#include "proxy/proxy_config.h"
#include "runtime/balancer.h"

namespace lb::addon {

bool read_listen_settings(const Napi::Object& object, runtime::ListenSettings& out, std::string& error);
bool read_proxy_config(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error);

}  // namespace lb::addon
