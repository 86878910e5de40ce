// ClientConnection: the answers of limits. Edge limits (native/protection decides): a
// rate-limited request gets 429 with Retry-After; a request without a body keeps its
// connection (as nginx's limit_req does), so a client that backs off can go on using it.
// Backend limits (maxConnections, upstream/backend_queue.h): a request beyond a backend's
// limit waits in the connecting state, without a backend connection, until the upstream
// group grants it a slot or its wait times out (503 with Retry-After).
#include "proxy/client_connection.h"

#include "protection/limit_response.h"
#include "proxy/worker_context.h"
#include "upstream/upstream_group.h"

namespace lb::proxy {

void ClientConnection::refuse_over_rate(const http1::MessageHead& head, uint64_t wait_ms) {
  constexpr uint16_t kStatus = 429;
  context_.counters.bad_requests.add();
  context_.counters.count_response(kStatus);
  upstream_side_.finish_access_record(kStatus);
  const bool has_body = head.body == http1::BodyKind::chunked || head.body == http1::BodyKind::until_close ||
                        (head.body == http1::BodyKind::content_length && head.content_length > 0);
  // The response has a body: after a HEAD, only a close keeps the client's framing right.
  const bool close_after =
      has_body || head.method == http1::Method::head || exchange_->client_wants_close || context_.draining();
  out_.clear();
  if (!protection::write_limit_response(kStatus, protection::retry_after_seconds(wait_ms), close_after, out_)) {
    fail(Outcome::bad_request);
    return;
  }
  if (!close_after) {
    // Nothing follows the head: the request is consumed, the next one may come.
    in_.consume(head.head_bytes);
    head_scan_from_ = 0;
    line_check_ = {};
    exchange_->request_body.start(http1::BodyKind::none, 0);
  }
  respond_locally(close_after);
}

void ClientConnection::on_upstream_queued() {
  if (state_ != ClientState::connecting) enter(ClientState::connecting);  // a retry waits too
  // Nothing reads the body while the request waits: timing it would answer 408 to a client
  // that sent it all. The queue's own timeout bounds the wait; the slot re-arms the timer.
  if (timer_kind_ == TimerKind::body) arm_timer(TimerKind::none);
}

void ClientConnection::on_upstream_slot_granted() {
  // The body is timed again from the grant (its wait in the queue was not its fault).
  if (!exchange_->request_body.complete) {
    const uint64_t total_ms = context_.config().timeouts.client_body_total_ms;
    if (total_ms > 0) exchange_->body_deadline_ms = context_.loop.now_ms() + total_ms;
    arm_timer(TimerKind::body);
  }
}

void ClientConnection::on_upstream_refused(uint32_t retry_after_s) { refuse_unavailable(retry_after_s); }

void ClientConnection::refuse_unavailable(uint32_t retry_after_s) {
  constexpr uint16_t kStatus = 503;
  context_.counters.no_backend.add();
  context_.counters.count_response(kStatus);
  upstream_side_.finish_access_record(kStatus);
  // The head was consumed; a body not read to the end makes the connection close after.
  const bool close_after = exchange_->client_wants_close || !exchange_->request_body.complete ||
                           exchange_->method == http1::Method::head || context_.draining();
  out_.clear();
  if (!protection::write_limit_response(kStatus, retry_after_s, close_after, out_)) {
    send_error(kStatus);
    return;
  }
  respond_locally(close_after);
}

}  // namespace lb::proxy
