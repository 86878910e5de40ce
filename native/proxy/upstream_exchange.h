// The backend side of one exchange, shared by HTTP/1.1 (ClientConnection) and HTTP/2
// (H2StreamExchange): which backend (strategy inputs, tries), its maxConnections slot or
// place in its queue and the pool breaker's slot, the connection (from the pool or a
// fresh connect), retries and the replay of a request, the request's count on its
// backend, what the response head tells the backend's health and latency, the access
// record, and giving the connection back (pooled or closed) at the end.
//
// A request goes: pick a backend -> its slots (or wait in its queue) -> a pooled or a
// fresh connection; a failed connect, or a request that failed before any response byte
// and may be sent again, goes round once more (within its tries and the retry budget).
// Its owner moves the bytes (each protocol frames them its own way) and keeps its own
// state machine; it learns what happened here through UpstreamOwner, one call an event.
// The backend connection itself still reports readiness to the owner (a
// FrontendConnection), which hands connect results back here.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string_view>

#include "balancing/strategy.h"
#include "buffer/byte_buffer.h"
#include "http1/parser.h"
#include "proxy/exchange.h"
#include "proxy/exchange_outcome.h"
#include "upstream/backend_queue.h"

namespace lb::proxy {

class BackendConnection;
class FrontendConnection;
class WorkerContext;

// What the owner of an exchange is told by its UpstreamExchange.
class UpstreamOwner {
 public:
  // A backend connection is attached and the request counted on its backend: send it.
  virtual void on_upstream_ready() = 0;
  // A fresh connection is being opened (its result comes later).
  virtual void on_upstream_connecting() = 0;
  // The request waits in its backend's queue for a maxConnections slot.
  virtual void on_upstream_queued() = 0;
  // The wait ended with a slot; the connection follows.
  virtual void on_upstream_slot_granted() = 0;
  // 503 with Retry-After: the backend's queue is full, or the wait timed out.
  virtual void on_upstream_refused(uint32_t retry_after_s) = 0;
  // No backend, or every try failed: the exchange ends with `outcome`.
  virtual void on_upstream_failed(Outcome outcome) = 0;

 protected:
  ~UpstreamOwner() = default;
};

class UpstreamExchange final : public upstream::QueueWaiter {
 public:
  // `frontend` is who the backend connection reports its readiness to (the owner).
  UpstreamExchange(WorkerContext& context, UpstreamOwner& owner, FrontendConnection& frontend);

  // The exchange whose backend side this is, from the worker's free list, and its end:
  // the slots given back, the access record written, the exchange returned.
  Exchange* open_exchange();
  void close_exchange();
  BackendConnection* backend() const { return backend_; }

  // What the strategy needs from a request head, computed once (the head is not kept).
  void compute_pick_inputs(const http1::MessageHead& head, const sockaddr* peer);
  balancing::PickRequest pick_request() const;
  // Picks a backend, takes its slots (or queues) and attaches a connection.
  void acquire_backend();
  // The attached connection's connect (or TLS handshake) result.
  void on_connected();
  void on_connect_failed(int error);

  // Writes what is left of the request head (`head`, the re-written one) and then `body`
  // to the backend, in one write. Returns how many of `body`'s bytes went; `moved` is set
  // when any byte did. A write that would block or failed is noted on the connection.
  size_t send_request(const buffer::ByteBuffer& head, std::string_view body, bool& moved);
  // Reads what the backend sent into the free space of `into`; `moved` is set when bytes
  // came. True for the exchange's first response bytes (no replay after them).
  bool receive_response(buffer::ByteBuffer& into, bool& moved);

  // A replay is allowed: idempotent, no body, and no byte of a response seen yet.
  bool may_replay() const;
  // Closes the connection and sends the request again: once on a fresh connection to the
  // same backend if a reused pooled one failed at once, else as a failed try.
  void replay();

  // A final response head came: the backend's health and latency, the access record.
  void note_response_head(uint16_t status);
  // The sticky cookie must be set on this response (a new client, or its backend left).
  bool wants_sticky_cookie() const;
  void count_response(uint16_t status);
  void record_total_time();

  // Every reason, known on this side, not to pool the connection (the owner adds its own
  // about its buffers).
  bool backend_may_be_pooled() const;
  // Parks the connection in its pool or closes it.
  void release_backend(bool reusable);
  // Gives back the slots held (and leaves the queue).
  void release_slot();
  void leave_queue();

  void start_access_record(const http1::MessageHead& head, const sockaddr* peer, size_t peer_length);
  // Ends the sampled access-log record (if any) with `status` (0: the backend's).
  void finish_access_record(uint16_t status);

  // upstream::QueueWaiter (maxConnections)
  bool on_slot_granted(upstream::UpstreamBackend& backend, bool pool_counted) override;
  void on_queue_timeout(uint64_t waited_ms) override;

 private:
  void connect_to(upstream::UpstreamBackend& backend);
  bool open_fresh_connection(upstream::UpstreamBackend& backend);
  // A try failed before any response byte (`connect_error`: errno of a failed connect,
  // 0 when the backend failed after connecting).
  void attempt_failed(upstream::UpstreamBackend& backend, const char* reason, int connect_error);
  void count_request_sent();

  WorkerContext& context_;
  UpstreamOwner& owner_;
  FrontendConnection& frontend_;
  Exchange* exchange_ = nullptr;
  BackendConnection* backend_ = nullptr;
};

bool is_idempotent(http1::Method method);

}  // namespace lb::proxy
