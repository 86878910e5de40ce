// Everything one worker's connections share: its loop, buffers, counters, event ring,
// the configuration snapshot it runs on, and its view of the backends. Owned by the
// worker thread; nothing here is touched by another thread except through atomics
// (counters, the event ring).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "balancing/backend_runtime.h"
#include "balancing/hash.h"
#include "balancing/strategy.h"
#include "buffer/buffer_pool.h"
#include "core/event_loop.h"
#include "http1/parser.h"
#include "proxy/exchange.h"
#include "proxy/proxy_config.h"
#include "stats/worker_channels.h"

namespace lb::proxy {

class FrontendConnection;
class BackendConnection;

class WorkerContext {
 public:
  // The longest ejection, in base ejection times.
  static constexpr uint32_t kMaxEjectionMultiplier = 10;

  WorkerContext(uint16_t worker_index, core::EventLoop& loop, stats::WorkerChannels& channels,
                std::shared_ptr<const ProxyConfig> config);
  ~WorkerContext();
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  // Switches to a new configuration snapshot: new backends appear, removed ones stop
  // taking requests and close their idle connections, changed weights and states apply
  // to the next pick. Exchanges in flight keep their backend.
  void adopt(std::shared_ptr<const ProxyConfig> config);
  const ProxyConfig& config() const { return *config_; }

  // Chooses a backend for a request, skipping those it already tried; nullptr if none.
  // `request` carries the key or sticky identity when the strategy needs one. When no
  // backend is eligible, an ejected one, or else one down by health checks, is picked
  // (panic routing, counted and reported) rather than none: a backend that may have
  // recovered is better than a certain 502/503.
  balancing::BackendRuntime* pick_backend(balancing::PickRequest request);
  balancing::StrategyKey strategy_key() const { return balancing::key_of(strategy_kind_); }

  // An exchange starts or ends on a backend (requests in flight, drain detection).
  void begin_exchange(balancing::BackendRuntime& backend);
  void end_exchange(balancing::BackendRuntime& backend);

  // Passive health: every failure (connect refused or timed out, reset before a full
  // response, 5xx) and every success (a non-5xx response; a connect in TCP mode).
  // A success on a backend that is still ejected (it was tried in panic) readmits it at
  // once.
  void report_failure(balancing::BackendRuntime& backend, const char* reason);
  void report_success(balancing::BackendRuntime& backend);
  // A connect to the backend failed with `error_number` (ETIMEDOUT: connectMs passed):
  // counted, reported to passive health, and told to the control plane as a
  // backend-error event (at most one a second per backend and worker; the others are
  // counted in the next one).
  void report_connect_failure(balancing::BackendRuntime& backend, int error_number);
  // Active health checks passed for a backend (the control plane says so): a passive
  // ejection ends now, as Envoy's successful active check un-ejects a host.
  void clear_ejection(uint32_t backend_id);

  // Retry budget: every request deposits a share of a token, every retry takes one.
  bool take_retry_token();

  // A backend connection opened or closed; removed backends are freed when their last
  // connection closes.
  void backend_connection_opened(balancing::BackendRuntime& backend);
  void backend_connection_closed(balancing::BackendRuntime& backend);
  // Frees removed backends whose last connection has closed; the worker calls it
  // between loop iterations.
  void collect_retired();

  void emit_error(const char* code, const char* message);

  // Access logs: whether to record this request (sampling), and the record's push.
  bool sample_access_log();
  void push_access_record(const stats::AccessRecord& record);

  // Exchanges are recycled through a free list: an idle keep-alive connection holds none.
  Exchange* take_exchange();
  void give_exchange(Exchange* exchange);

  // Accepted connections (HTTP or TCP): registered with the loop, counted, and listed
  // for graceful stop. False if epoll refused the socket (the caller deletes it).
  bool adopt_client(FrontendConnection* connection, int fd);
  // The other end of adopt_client, from the connection's close(): unlisted, uncounted,
  // and retired (deleted at the end of the loop iteration).
  void release_client(FrontendConnection* connection);
  size_t client_count() const { return clients_.size(); }
  // Stops keep-alive: idle clients close now, busy ones after their response.
  void begin_drain();
  bool draining() const { return draining_; }
  void close_all_clients();
  void close_idle_pools();

  core::EventLoop& loop;
  buffer::BufferPool buffers;
  stats::WorkerCounters& counters;
  stats::EventRing& events;
  stats::AccessLogRing& access_log;
  const uint16_t worker_index;
  // Parsed-head scratch space, big (header array): shared by every connection of this
  // worker because a head is parsed and re-written in one go, never kept.
  http1::MessageHead scratch_head;

 private:
  void emit(const stats::Event& event);
  void emit_backend_event(stats::EventType type, const balancing::BackendRuntime& backend,
                          const char* message, uint32_t duration_ms = 0);
  void check_drained(balancing::BackendRuntime& backend);
  // Ends an ejection (or the wait for a first success after one): traffic ramps up from
  // now and backend-recovered is reported with `why`.
  void readmit(balancing::BackendRuntime& backend, const char* why);
  size_t ejected_count() const;
  static bool same_address(const net::SocketAddress& a, const net::SocketAddress& b);
  static void close_pool(balancing::BackendRuntime& runtime);
  std::shared_ptr<const ProxyConfig> config_;
  std::unique_ptr<balancing::Strategy> strategy_;
  balancing::StrategyKind strategy_kind_;
  std::unordered_map<uint32_t, std::unique_ptr<balancing::BackendRuntime>> backends_;
  std::vector<balancing::BackendRuntime*> ordered_backends_;  // configuration order
  // Removed from the configuration but still with open connections.
  std::vector<std::unique_ptr<balancing::BackendRuntime>> retiring_;
  std::vector<FrontendConnection*> clients_;
  bool draining_ = false;
  std::vector<Exchange*> free_exchanges_;
  double retry_tokens_ = 0;
  balancing::Xorshift sampler_{0x9e3779b97f4a7c15ull};
  uint64_t retry_refilled_ms_ = 0;
  uint64_t panic_reported_ms_ = 0;  // panic-routing events: at most one a second
};

}  // namespace lb::proxy
