// The scalar options that cross from JavaScript to native code, one row each: where the
// value sits in NativeConfig (src/native.ts), its range, and the field it lands in. The
// TypeScript side keeps the same table (src/config/native-options.ts); configTable()
// exports this one so a test can check that both agree, row for row.
#pragma once

#include <napi.h>

#include <string>
#include <string_view>

#include "balancing/backend.h"
#include "protection/edge_rules.h"
#include "proxy/proxy_config.h"
#include "runtime/balancer.h"

namespace lb::addon {

// How an absent value is taken.
enum class Presence : uint8_t {
  required,          // the value must be there
  optional_key,      // absent: the native default stays
  optional_section,  // the whole section may be absent (then the defaults stay); if present, the key must be there
};

template <typename Target>
struct OptionRow {
  std::string_view section;  // "timeouts", or empty for a top-level key
  std::string_view key;      // "connectMs"
  double min;
  double max;
  bool integer;  // false: any finite number in [min, max]
  Presence presence;
  void (*store)(Target& out, double value);
  double (*load)(const Target& from);  // the default: load(Target{})
};

// Each reads its table's rows from `object` (a backend object for the backend rows, whose
// messages are prefixed with `prefix`, e.g. "backends[2].").
bool read_listen_options(const Napi::Object& object, runtime::ListenSettings& out, std::string& error);
bool read_proxy_options(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error);
bool read_backend_options(const Napi::Object& object, const std::string& prefix, balancing::BackendSpec& out,
                          std::string& error);
bool read_protection_options(const Napi::Object& object, protection::EdgeRules& out, std::string& error);

// Every row as [{ path, min, max, integer, default }], backend rows with paths like "backends[].weight".
Napi::Array config_table(Napi::Env env);

}  // namespace lb::addon
