#include "proxy/upstream_exchange.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

#include "balancing/hash.h"
#include "http1/cookie.h"
#include "net/socket_address.h"
#include "protection/limit_response.h"
#include "proxy/backend_connection.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

bool is_idempotent(http1::Method method) {
  using http1::Method;
  switch (method) {
    case Method::get:
    case Method::head:
    case Method::put:
    case Method::delete_:
    case Method::options:
    case Method::trace: return true;
    default: return false;
  }
}

UpstreamExchange::UpstreamExchange(WorkerContext& context, UpstreamOwner& owner, FrontendConnection& frontend)
    : context_(context), owner_(owner), frontend_(frontend) {}

Exchange* UpstreamExchange::open_exchange() {
  exchange_ = context_.take_exchange();
  return exchange_;
}

void UpstreamExchange::close_exchange() {
  if (!exchange_) return;
  release_slot();
  finish_access_record(0);
  context_.give_exchange(exchange_);
  exchange_ = nullptr;
}

void UpstreamExchange::compute_pick_inputs(const http1::MessageHead& head, const sockaddr* peer) {
  const ProxyConfig& config = context_.config();
  switch (context_.upstream.strategy_key()) {
    case balancing::StrategyKey::none: return;
    case balancing::StrategyKey::client_address:
      exchange_->pick_key = balancing::hash_bytes(net::host_bytes(peer));
      exchange_->has_pick_key = true;
      return;
    case balancing::StrategyKey::header:
      for (uint32_t i = 0; i < head.header_count; ++i) {
        if (http1::equals_ignore_case(head.headers[i].name, config.hash_header)) {
          exchange_->pick_key = balancing::hash_bytes(head.headers[i].value);
          exchange_->has_pick_key = true;
          return;
        }
      }
      return;  // no header: the fallback strategy picks
    case balancing::StrategyKey::uri:
      exchange_->pick_key = balancing::hash_bytes(head.target);
      exchange_->has_pick_key = true;
      return;
    case balancing::StrategyKey::cookie:
      for (uint32_t i = 0; i < head.header_count; ++i) {
        if (!http1::equals_ignore_case(head.headers[i].name, "cookie")) continue;
        std::string_view value = http1::find_cookie(head.headers[i].value, config.cookie_name);
        uint64_t identity = 0;
        auto parsed = std::from_chars(value.data(), value.data() + value.size(), identity, 16);
        if (!value.empty() && parsed.ec == std::errc() && parsed.ptr == value.data() + value.size()) {
          exchange_->sticky_identity = identity;
          exchange_->has_sticky = true;
          return;
        }
      }
      return;
  }
}

// ---------------------------------------------------------------------------------------
// Choosing a backend, its slots, its connection

balancing::PickRequest UpstreamExchange::pick_request() const {
  balancing::PickRequest request;
  request.tried = {exchange_->tried, exchange_->tries};
  request.key = exchange_->pick_key;
  request.has_key = exchange_->has_pick_key;
  request.sticky_identity = exchange_->sticky_identity;
  request.has_sticky = exchange_->has_sticky;
  return request;
}

void UpstreamExchange::acquire_backend() {
  upstream::UpstreamBackend* backend = context_.upstream.pick(pick_request());
  if (!backend) {
    owner_.on_upstream_failed(exchange_->tries > 0 ? Outcome::tries_exhausted : Outcome::no_backend);
    return;
  }
  bool pool_counted = false;
  switch (context_.upstream.take_slot(*backend, pool_counted)) {
    case upstream::UpstreamGroup::Slot::admitted: exchange_->pool_counted = pool_counted; break;
    case upstream::UpstreamGroup::Slot::counted:
      exchange_->pool_counted = pool_counted;
      exchange_->slot_load = &backend->spec.counters->load();
      exchange_->slot_backend_id = backend->spec.id;
      break;
    case upstream::UpstreamGroup::Slot::full:
      if (!context_.upstream.wait_for_slot(*backend, *this)) {
        owner_.on_upstream_refused(1);
        return;
      }
      exchange_->queued = true;
      owner_.on_upstream_queued();
      return;
  }
  connect_to(*backend);
}

bool UpstreamExchange::on_slot_granted(upstream::UpstreamBackend& backend, bool pool_counted) {
  // Wanted only while still waiting for it (not answered, not closed meanwhile).
  if (!exchange_ || !exchange_->queued || backend_) return false;
  exchange_->queued = false;
  exchange_->pool_counted = pool_counted;
  if (backend.spec.max_connections > 0) {
    exchange_->slot_load = &backend.spec.counters->load();
    exchange_->slot_backend_id = backend.spec.id;
  }
  owner_.on_upstream_slot_granted();
  connect_to(backend);
  return true;
}

void UpstreamExchange::on_queue_timeout(uint64_t) {
  if (!exchange_ || !exchange_->queued) return;
  exchange_->queued = false;
  owner_.on_upstream_refused(protection::retry_after_seconds(context_.config().upstream.queue.timeout_ms));
}

void UpstreamExchange::connect_to(upstream::UpstreamBackend& backend) {
  context_.upstream.begin_exchange(backend);
  if (auto* pooled = static_cast<BackendConnection*>(backend.pool.take(context_.loop.iteration()))) {
    backend_ = pooled;
    pooled->attach(&frontend_);
    count_request_sent();
    owner_.on_upstream_ready();
    return;
  }
  open_fresh_connection(backend);
}

bool UpstreamExchange::open_fresh_connection(upstream::UpstreamBackend& backend) {
  int error = 0;
  backend_ = BackendConnection::open(context_, backend, &frontend_, error);
  if (!backend_) {
    context_.upstream.end_exchange(backend);
    attempt_failed(backend, "connect failed", error != 0 ? error : EIO);
    return false;
  }
  owner_.on_upstream_connecting();
  return true;
}

void UpstreamExchange::attempt_failed(upstream::UpstreamBackend& backend, const char* reason, int connect_error) {
  // Count it against the backend, then try another one if the request's tries and the
  // worker's retry budget allow.
  if (connect_error != 0) {
    context_.upstream.report_connect_failure(backend, connect_error);
  } else {
    backend.counters->backend_errors.add();
    context_.upstream.report_failure(backend, reason);
  }
  if (exchange_->tries < kMaxConnectTries) exchange_->tried[exchange_->tries++] = &backend;
  uint32_t max_tries = std::min<uint32_t>(context_.config().upstream.retries.max_tries, kMaxConnectTries);
  if (exchange_->tries >= max_tries || !context_.upstream.take_retry()) {
    owner_.on_upstream_failed(Outcome::tries_exhausted);
    return;
  }
  backend.counters->retries.add();
  release_slot();          // the next try takes a slot on the backend it goes to
  if (!exchange_) return;  // the owner ended while the slot was passed on
  acquire_backend();
}

void UpstreamExchange::on_connected() {
  count_request_sent();
  owner_.on_upstream_ready();
}

void UpstreamExchange::on_connect_failed(int error) {
  upstream::UpstreamBackend& backend = backend_->backend();
  release_backend(false);
  attempt_failed(backend, "connect failed", error != 0 ? error : ECONNREFUSED);
}

void UpstreamExchange::count_request_sent() {
  // A backend's request count is the requests it was given: not connects that failed, and
  // a replay on a fresh connection to the same backend is still the same request.
  upstream::UpstreamBackend& backend = backend_->backend();
  if (exchange_->counted_on == &backend) return;
  exchange_->counted_on = &backend;
  backend.counters->requests.add();
}

// ---------------------------------------------------------------------------------------
// The bytes

size_t UpstreamExchange::send_request(const buffer::ByteBuffer& head, std::string_view body, bool& moved) {
  BackendConnection& backend = *backend_;
  const size_t head_left = head.size() - exchange_->request_head_sent;
  if ((head_left == 0 && body.empty()) || !backend.writable) return 0;
  iovec parts[2];
  int count = 0;
  if (head_left > 0) parts[count++] = {const_cast<char*>(head.data()) + exchange_->request_head_sent, head_left};
  if (!body.empty()) parts[count++] = {const_cast<char*>(body.data()), body.size()};
  IoResult io = backend.write(parts, count);
  if (io.status == IoStatus::progress) {
    const size_t sent = io.bytes;
    const size_t head_sent = std::min(sent, head_left);
    exchange_->request_head_sent += static_cast<uint32_t>(head_sent);
    backend.backend().counters->bytes_to_backend.add(sent);
    if (sent < head_left + body.size()) backend.writable = false;
    if (sent > 0) moved = true;
    return sent - head_sent;
  }
  if (io.status == IoStatus::would_block) {
    backend.writable = false;
  } else {
    backend.failed = true;
  }
  return 0;
}

bool UpstreamExchange::receive_response(buffer::ByteBuffer& into, bool& moved) {
  BackendConnection& backend = *backend_;
  if (!backend.readable || backend.failed || into.write_space() == 0) return false;
  char* to = into.write_ptr();
  const size_t space = into.contiguous_write_space();
  IoResult io = backend.read(to, space);
  if (io.status == IoStatus::progress) {
    into.commit(io.bytes);
    backend.backend().counters->bytes_from_backend.add(io.bytes);
    // Over TLS a short read may leave a record inside OpenSSL: keep reading until it blocks.
    if (io.bytes < space && !backend.peer_closed && backend.short_read_drains()) backend.readable = false;
    const bool first = !exchange_->response_bytes_seen;
    exchange_->response_bytes_seen = true;
    if (exchange_->request_phase == RequestPhase::done) backend.arm_response_timer();
    moved = true;
    return first;
  }
  if (io.status == IoStatus::would_block) {
    backend.readable = false;
  } else if (io.status == IoStatus::eof) {
    backend.readable = false;
    backend.peer_closed = true;
  } else {
    backend.readable = false;
    backend.failed = true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Replay

bool UpstreamExchange::may_replay() const {
  // Only requests that can be sent again unchanged (idempotent, no body) and only before
  // any response byte: after that, a retry could show the client two answers.
  return backend_ && !exchange_->response_bytes_seen && exchange_->retryable;
}

void UpstreamExchange::replay() {
  upstream::UpstreamBackend& backend = backend_->backend();
  // A reused pooled connection that fails at once most likely raced the backend closing
  // it while idle: that is no fault of the backend, so replay once on a fresh connection
  // to the same backend.
  bool stale_pooled = backend_->reused() && !exchange_->replayed_fresh;
  release_backend(false);
  exchange_->request_head_sent = 0;
  exchange_->request_phase = RequestPhase::sending;
  exchange_->response_phase = ResponsePhase::awaiting_head;
  exchange_->response_scan_from = 0;
  if (stale_pooled) {
    exchange_->replayed_fresh = true;
    backend.counters->retries.add();
    context_.upstream.begin_exchange(backend);
    open_fresh_connection(backend);
    return;
  }
  attempt_failed(backend, "failed before responding", 0);
}

// ---------------------------------------------------------------------------------------
// The response

void UpstreamExchange::note_response_head(uint16_t status) {
  upstream::UpstreamBackend& runtime = backend_->backend();
  if (status >= 500) {
    context_.upstream.report_failure(runtime, "5xx response");
  } else {
    context_.upstream.report_success(runtime);
  }
  // Time to the response head: for latency-aware strategies, the histograms, the log.
  uint64_t time_to_first_byte = context_.loop.now_us() - exchange_->started_us;
  runtime.record_latency(time_to_first_byte, context_.loop.now_ms(), context_.config().upstream.ewma_decay_ms);
  runtime.counters->time_to_first_byte.record(time_to_first_byte);
  if (stats::AccessRecord* record = exchange_->access) {
    record->status = status;
    record->backend_id = runtime.spec.id;
    record->has_backend = true;
    record->time_to_first_byte_us = static_cast<uint32_t>(std::min<uint64_t>(time_to_first_byte, UINT32_MAX));
  }
}

bool UpstreamExchange::wants_sticky_cookie() const {
  return context_.upstream.strategy_key() == balancing::StrategyKey::cookie &&
         (!exchange_->has_sticky || exchange_->sticky_identity != backend_->backend().identity);
}

void UpstreamExchange::count_response(uint16_t status) {
  context_.counters.count_response(status);
  backend_->backend().counters->count_response(status);
}

void UpstreamExchange::record_total_time() {
  if (backend_) backend_->backend().counters->total_time.record(context_.loop.now_us() - exchange_->started_us);
}

// ---------------------------------------------------------------------------------------
// The end

bool UpstreamExchange::backend_may_be_pooled() const {
  const BackendConnection& backend = *backend_;
  if (backend.failed || backend.peer_closed) return false;             // broken or closing
  if (exchange_->response_phase != ResponsePhase::done) return false;  // response not fully read
  if (exchange_->request_phase != RequestPhase::done) return false;    // request not fully sent
  if (!exchange_->backend_keep_alive) return false;                    // the backend said close
  if (exchange_->response_body.kind == http1::BodyKind::until_close) return false;
  const upstream::UpstreamBackend& runtime = backend.backend();
  if (runtime.removed || runtime.spec.state != balancing::BackendState::ready) return false;
  if (context_.draining()) return false;
  return true;
}

void UpstreamExchange::release_backend(bool reusable) {
  if (!backend_) return;
  BackendConnection* backend = backend_;
  backend_ = nullptr;
  context_.upstream.end_exchange(backend->backend());
  if (reusable) {
    backend->park();
  } else {
    backend->close();
  }
}

void UpstreamExchange::leave_queue() {
  if (!exchange_ || !exchange_->queued) return;
  exchange_->queued = false;
  context_.upstream.cancel_wait(*this);
}

void UpstreamExchange::release_slot() {
  if (!exchange_) return;
  leave_queue();
  if (stats::BackendLoad* load = exchange_->slot_load) {
    exchange_->slot_load = nullptr;
    context_.upstream.give_slot(exchange_->slot_backend_id, *load);
  }
  if (exchange_->pool_counted) {
    exchange_->pool_counted = false;
    context_.upstream.give_pool_slot();
  }
}

void UpstreamExchange::start_access_record(const http1::MessageHead& head, const sockaddr* peer, size_t peer_length) {
  auto* record = new stats::AccessRecord();
  net::SocketAddress address;
  std::memcpy(&address.storage, peer, std::min(peer_length, sizeof(address.storage)));
  address.format_host(record->client, sizeof(record->client) - 1);
  size_t method_length = std::min(head.method_text.size(), sizeof(record->method) - 1);
  std::memcpy(record->method, head.method_text.data(), method_length);
  size_t target_length = std::min(head.target.size(), sizeof(record->target) - 1);
  std::memcpy(record->target, head.target.data(), target_length);
  record->worker = context_.worker_index;
  exchange_->access = record;
}

void UpstreamExchange::finish_access_record(uint16_t status) {
  stats::AccessRecord* record = exchange_ ? exchange_->access : nullptr;
  if (!record) return;
  exchange_->access = nullptr;
  timespec now;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  record->unix_ms = static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
  if (status != 0) record->status = status;  // a response of our own replaced the backend's
  if (record->status == 0) record->status = exchange_->status;
  record->total_us =
      static_cast<uint32_t>(std::min<uint64_t>(context_.loop.now_us() - exchange_->started_us, UINT32_MAX));
  record->bytes_to_client = exchange_->response_bytes;
  context_.push_access_record(*record);
  delete record;
}

}  // namespace lb::proxy
