// Everything one worker's connections share: its loop, buffers, counters, event ring,
// the configuration snapshot it runs on, its upstream group and the list of the
// connections it accepted. Owned by the worker thread; nothing here is touched by
// another thread except through atomics (counters, the event ring).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "balancing/hash.h"
#include "buffer/buffer_pool.h"
#include "http1/parser.h"
#include "protection/edge_guard.h"
#include "proxy/exchange.h"
#include "proxy/exchange_outcome.h"
#include "proxy/pipe_pool.h"
#include "proxy/proxy_config.h"
#include "reactor/event_loop.h"
#include "stats/worker_channels.h"
#include "tls/ticket_keys.h"
#include "upstream/upstream_group.h"

namespace lb::proxy {

class FrontendConnection;

class WorkerContext {
 public:
  WorkerContext(uint16_t worker_index, reactor::EventLoop& loop, stats::WorkerChannels& channels,
                std::shared_ptr<const ProxyConfig> config);
  ~WorkerContext();
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  // Switches to a new configuration snapshot (the upstream group adopts its part).
  // Exchanges in flight keep their backend.
  void adopt(std::shared_ptr<const ProxyConfig> config);
  const ProxyConfig& config() const { return *config_; }
  // The policy of listener `index` in the current snapshot (a plain one if there is no
  // such listener: a snapshot made without listeners, as some C++ tests make).
  const ListenerPolicy& listener(uint16_t index) const {
    return index < config_->listeners.size() ? config_->listeners[index] : plain_listener_;
  }

  void emit_error(const char* code, const char* message);

  // An exchange that ended in failure, counted once for HTTP/1 and HTTP/2 alike: the
  // worker's tally, and the backend's errors and passive health when it was at fault.
  void count_failure(const OutcomeRule& rule, upstream::UpstreamBackend* backend);

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
  // A connection hands its socket to another (HTTP/1.1 to HTTP/2): `next` takes its place
  // in the loop and the list, and `previous` (already marked closed) is retired.
  void replace_client(FrontendConnection* previous, FrontendConnection* next, int fd);
  size_t client_count() const { return clients_.size(); }
  // Stops keep-alive: idle clients close now, busy ones after their response.
  void begin_drain();
  bool draining() const { return draining_; }
  void close_all_clients();

  reactor::EventLoop& loop;
  buffer::BufferPool buffers;
  // Larger blocks for responses and for bodies that stream through a buffer (chunked, too
  // short to splice, or TLS): fewer reads and writes per byte. A response reads into one
  // from its first byte, a request body once its first 16 KiB block is empty; given back
  // when the exchange ends. At most kMaxStreamBlocks at once, beyond which 16 KiB blocks.
  static constexpr size_t kStreamBlockSize = 64 * 1024;
  static constexpr size_t kMaxStreamBlocks = 256;
  buffer::BufferPool stream_buffers{32, kStreamBlockSize};
  // Pipes for bodies that move by splice(2), taken while they hold bytes.
  PipePool pipes;
  stats::WorkerCounters& counters;
  stats::EventRing& events;
  stats::AccessLogRing& access_log;
  const uint16_t worker_index;
  // The backends and how to choose among them, their pools and passive health.
  upstream::UpstreamGroup upstream;
  // Edge protection: allow/deny and connections per client at accept, rate limits per request.
  protection::EdgeGuard edge;
  // Parsed-head scratch space, big (header array): shared by every connection of this
  // worker because a head is parsed and re-written in one go, never kept.
  http1::MessageHead scratch_head;
  // This worker's own copy of the listeners' session ticket keys: the TLS connections it
  // accepts point at it, so the ticket callback reads nothing another thread writes.
  tls::TicketKeyRing ticket_keys;

 private:
  void emit(const stats::Event& event);
  std::shared_ptr<const ProxyConfig> config_;
  const ListenerPolicy plain_listener_{};
  std::vector<FrontendConnection*> clients_;
  bool draining_ = false;
  std::vector<Exchange*> free_exchanges_;
  balancing::Xorshift sampler_{0x9e3779b97f4a7c15ull};
};

}  // namespace lb::proxy
