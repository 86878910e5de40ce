#include "addon/config_table.h"

#include <cmath>
#include <limits>
#include <span>
#include <type_traits>

#include "http1/parser.h"
#include "proxy/exchange.h"

namespace lb::addon {

namespace {

using proxy::ProxyConfig;

// The ranges are those of src/config/defaults.ts (`bounds`); test/config/native-options.test.ts
// fails when the two differ.
constexpr double kMaxMs = 2147483647;            // a signed 32-bit millisecond count, ~24.8 days
constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

template <typename T>
constexpr bool fits(double max) {
  return max <= static_cast<double>(std::numeric_limits<T>::max());
}

// The two accessors of a row, for the field `member` of a Target.
#define LB_FIELD(Target, member)                                                                   \
  [](Target& o, double v) { o.member = static_cast<std::remove_cvref_t<decltype(o.member)>>(v); }, \
      [](const Target& o) { return static_cast<double>(o.member); }

constexpr OptionRow<runtime::ListenSettings> kListenRows[] = {
    {"", "backlog", 0, 65535, true, Presence::required, LB_FIELD(runtime::ListenSettings, backlog)},
    {"", "workers", 1, 1024, true, Presence::required, LB_FIELD(runtime::ListenSettings, workers)},
};

constexpr OptionRow<balancing::BackendSpec> kBackendRows[] = {
    // Relative shares; a backend taking no traffic is drained or in maintenance, not weight 0.
    {"", "weight", 1, 256, true, Presence::required, LB_FIELD(balancing::BackendSpec, weight)},
    {"", "maxConnections", 0, 1000000, true, Presence::optional_key, LB_FIELD(balancing::BackendSpec, max_connections)},
};

constexpr OptionRow<ProxyConfig> kProxyRows[] = {
    {"timeouts", "connectMs", 1, kMaxMs, true, Presence::required, LB_FIELD(ProxyConfig, timeouts.connect_ms)},
    {"timeouts", "responseMs", 1, kMaxMs, true, Presence::required, LB_FIELD(ProxyConfig, timeouts.response_ms)},
    {"timeouts", "clientHeadMs", 1, kMaxMs, true, Presence::required, LB_FIELD(ProxyConfig, timeouts.client_head_ms)},
    {"timeouts", "keepAliveMs", 1, kMaxMs, true, Presence::required, LB_FIELD(ProxyConfig, timeouts.keep_alive_ms)},
    {"timeouts", "backendIdleMs", 1, kMaxMs, true, Presence::required, LB_FIELD(ProxyConfig, timeouts.backend_idle_ms)},
    {"timeouts", "clientBodyMs", 1, kMaxMs, true, Presence::optional_key,
     LB_FIELD(ProxyConfig, timeouts.client_body_ms)},
    {"timeouts", "clientBodyTotalMs", 0, kMaxMs, true, Presence::optional_key,
     LB_FIELD(ProxyConfig, timeouts.client_body_total_ms)},
    {"timeouts", "tunnelIdleMs", 1, kMaxMs, true, Presence::optional_key,
     LB_FIELD(ProxyConfig, timeouts.tunnel_idle_ms)},

    // Request heads; read_proxy_config gives responses the same limits.
    {"limits", "maxStartLine", 16, 65536, true, Presence::required,
     LB_FIELD(ProxyConfig, limits.request_head.max_start_line)},
    {"limits", "maxHeadBytes", 64, 1 << 20, true, Presence::required,
     LB_FIELD(ProxyConfig, limits.request_head.max_head_bytes)},
    {"limits", "maxHeaderCount", 1, http1::kMaxHeaderFields, true, Presence::required,
     LB_FIELD(ProxyConfig, limits.request_head.max_header_count)},
    {"limits", "maxBodyBytes", 0, kMaxSafe, true, Presence::required, LB_FIELD(ProxyConfig, limits.max_body_bytes)},
    {"limits", "maxClientConnections", 0, 10000000, true, Presence::required,
     LB_FIELD(ProxyConfig, limits.max_client_connections)},

    {"pool", "maxIdlePerBackend", 0, 100000, true, Presence::required,
     LB_FIELD(ProxyConfig, pool.max_idle_per_backend)},
    {"pool", "surplusIdleMs", 0, 3600000, true, Presence::required, LB_FIELD(ProxyConfig, pool.surplus_idle_ms)},
    {"pool", "tcpKeepAliveIdleSec", 1, 32767, true, Presence::required,
     LB_FIELD(ProxyConfig, pool.tcp_keep_alive.idle_sec)},
    {"pool", "tcpKeepAliveIntervalSec", 1, 32767, true, Presence::required,
     LB_FIELD(ProxyConfig, pool.tcp_keep_alive.interval_sec)},
    {"pool", "tcpKeepAliveCount", 1, 127, true, Presence::required, LB_FIELD(ProxyConfig, pool.tcp_keep_alive.count)},

    {"bodies", "spliceMinBytes", 0, 4294967295u, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, bodies.splice_min_bytes)},
    {"bodies", "maxPipes", 0, 100000, true, Presence::optional_section, LB_FIELD(ProxyConfig, bodies.max_pipes)},

    {"outlierDetection", "consecutiveFailures", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.outlier.consecutive_failures)},
    {"outlierDetection", "baseEjectionMs", 1, kMaxMs, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.outlier.base_ejection_ms)},
    {"outlierDetection", "maxEjectionPercent", 0, 100, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.outlier.max_ejection_percent)},
    {"outlierDetection", "slowStartMs", 0, kMaxMs, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.outlier.slow_start_ms)},

    {"retries", "maxTries", 1, proxy::kMaxConnectTries, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.retries.max_tries)},
    {"retries", "budgetPercent", 0, 1000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.retries.budget_percent)},
    {"retries", "minPerSecond", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.retries.min_per_second)},

    {"", "accessLogSampleRate", 0, 1, false, Presence::optional_key, LB_FIELD(ProxyConfig, access_log_sample_rate)},

    {"queue", "maxPending", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.queue.max_pending)},
    {"queue", "timeoutMs", 1, kMaxMs, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, upstream.queue.timeout_ms)},

    // HTTP/2 defences per client connection (http2::SessionLimits, docs/http2.md).
    {"http2Limits", "maxConcurrentStreams", 1, 100000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.max_concurrent_streams)},
    {"http2Limits", "maxHeaderListBytes", 1024, 1 << 20, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.max_header_list_bytes)},
    {"http2Limits", "maxHeaderFields", 1, http1::kMaxHeaderFields, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.max_header_fields)},
    {"http2Limits", "maxHeaderBlockBytes", 1024, 1 << 20, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.max_header_block_bytes)},
    {"http2Limits", "maxContinuationFrames", 0, 64, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.max_continuation_frames)},
    {"http2Limits", "stallTimeoutMs", 0, kMaxMs, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.stall_timeout_ms)},
    {"http2Limits", "streamResetBurst", 1, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.stream_resets.burst)},
    {"http2Limits", "streamResetsPerSecond", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.stream_resets.per_second)},
    {"http2Limits", "settingsBurst", 1, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.settings_frames.burst)},
    {"http2Limits", "settingsPerSecond", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.settings_frames.per_second)},
    {"http2Limits", "pingBurst", 1, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.ping_frames.burst)},
    {"http2Limits", "pingsPerSecond", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.ping_frames.per_second)},
    {"http2Limits", "priorityBurst", 1, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.priority_frames.burst)},
    {"http2Limits", "prioritiesPerSecond", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.priority_frames.per_second)},
    {"http2Limits", "emptyDataBurst", 1, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.empty_data_frames.burst)},
    {"http2Limits", "emptyDataPerSecond", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.empty_data_frames.per_second)},
    {"http2Limits", "windowUpdateBurst", 1, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.window_update_frames.burst)},
    {"http2Limits", "windowUpdatesPerSecond", 0, 1000000, true, Presence::optional_section,
     LB_FIELD(ProxyConfig, http2.limits.window_update_frames.per_second)},
};

// The scalar edge-protection options; the rest of the section (lists, rules) is read in
// protection_conversion.cpp.
constexpr OptionRow<protection::EdgeRules> kProtectionRows[] = {
    {"protection", "maxConnectionsPerClient", 0, protection::ClientConnectionTable::kMaxCount, true,
     Presence::optional_section, LB_FIELD(protection::EdgeRules, max_connections_per_client)},
    {"protection", "rateLimitKeys", 1024, 1048576, true, Presence::optional_section,
     LB_FIELD(protection::EdgeRules, rate_limit_keys)},
};

#undef LB_FIELD

// Every stored integer fits its field: the widest fields are uint32_t except maxBodyBytes.
template <typename Target>
constexpr bool rows_fit(std::span<const OptionRow<Target>> rows) {
  for (const OptionRow<Target>& row : rows) {
    if (row.key != "maxBodyBytes" && row.integer && !fits<uint32_t>(row.max)) return false;
    if (row.min > row.max) return false;
  }
  return true;
}
static_assert(rows_fit<ProxyConfig>(kProxyRows));
static_assert(rows_fit<runtime::ListenSettings>(kListenRows));
static_assert(rows_fit<balancing::BackendSpec>(kBackendRows));
static_assert(rows_fit<protection::EdgeRules>(kProtectionRows));

std::string path_of(std::string_view section, std::string_view key) {
  std::string path(section);
  if (!path.empty()) path += '.';
  path += key;
  return path;
}

std::string format_limit(double value) {
  return std::floor(value) == value ? std::to_string(static_cast<long long>(value)) : std::to_string(value);
}

// Reads one row's value from `holder` (the section object, or the top-level object).
template <typename Target>
bool read_row(const Napi::Object& holder, const std::string& prefix, const OptionRow<Target>& row, Target& out,
              std::string& error) {
  Napi::Value value = holder.Get(std::string(row.key));
  std::string path = prefix + path_of(row.section, row.key);
  if (value.IsUndefined() && row.presence == Presence::optional_key) return true;
  if (!value.IsNumber()) {
    error = path + ": expected a number";
    return false;
  }
  double number = value.As<Napi::Number>().DoubleValue();
  bool whole = !row.integer || std::floor(number) == number;
  if (!std::isfinite(number) || !whole || number < row.min || number > row.max) {
    error = path + ": expected " + (row.integer ? "an integer" : "a number") + " from " + format_limit(row.min) +
            " to " + format_limit(row.max);
    return false;
  }
  row.store(out, number);
  return true;
}

template <typename Target>
bool read_rows(const Napi::Object& object, const std::string& prefix, std::span<const OptionRow<Target>> rows,
               Target& out, std::string& error) {
  for (const OptionRow<Target>& row : rows) {
    Napi::Object holder = object;
    if (!row.section.empty()) {
      Napi::Value section = object.Get(std::string(row.section));
      if (section.IsUndefined() && row.presence == Presence::optional_section) continue;
      if (!section.IsObject()) {
        error = prefix + std::string(row.section) + ": expected an object";
        return false;
      }
      holder = section.As<Napi::Object>();
    }
    if (!read_row(holder, prefix, row, out, error)) return false;
  }
  return true;
}

template <typename Target>
void export_rows(Napi::Env env, Napi::Array& table, std::string_view prefix, std::span<const OptionRow<Target>> rows) {
  for (const OptionRow<Target>& row : rows) {
    Napi::Object item = Napi::Object::New(env);
    item.Set("path", std::string(prefix) + path_of(row.section, row.key));
    item.Set("min", row.min);
    item.Set("max", row.max);
    item.Set("integer", row.integer);
    item.Set("default", row.load(Target{}));
    table.Set(table.Length(), item);
  }
}

}  // namespace

bool read_listen_options(const Napi::Object& object, runtime::ListenSettings& out, std::string& error) {
  return read_rows<runtime::ListenSettings>(object, "", kListenRows, out, error);
}

bool read_proxy_options(const Napi::Object& object, proxy::ProxyConfig& out, std::string& error) {
  return read_rows<ProxyConfig>(object, "", kProxyRows, out, error);
}

bool read_backend_options(const Napi::Object& object, const std::string& prefix, balancing::BackendSpec& out,
                          std::string& error) {
  return read_rows<balancing::BackendSpec>(object, prefix, kBackendRows, out, error);
}

bool read_protection_options(const Napi::Object& object, protection::EdgeRules& out, std::string& error) {
  return read_rows<protection::EdgeRules>(object, "", kProtectionRows, out, error);
}

Napi::Array config_table(Napi::Env env) {
  Napi::Array table = Napi::Array::New(env);
  export_rows<runtime::ListenSettings>(env, table, "", kListenRows);
  export_rows<balancing::BackendSpec>(env, table, "backends[].", kBackendRows);
  export_rows<ProxyConfig>(env, table, "", kProxyRows);
  export_rows<protection::EdgeRules>(env, table, "", kProtectionRows);
  return table;
}

}  // namespace lb::addon
