// ClientConnection: the answers of edge limits (native/protection decides, this answers).
// A rate-limited request gets 429 with Retry-After; a request without a body keeps its
// connection (as nginx's limit_req does), so a client that backs off can go on using it.
#include "proxy/client_connection.h"

#include "protection/limit_response.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

void ClientConnection::refuse_over_rate(const http1::MessageHead& head, uint64_t wait_ms) {
  constexpr uint16_t kStatus = 429;
  context_.counters.bad_requests.add();
  context_.counters.count_response(kStatus);
  finish_access_record(kStatus);
  const bool has_body = head.body == http1::BodyKind::chunked || head.body == http1::BodyKind::until_close ||
                        (head.body == http1::BodyKind::content_length && head.content_length > 0);
  const bool close_after = has_body || exchange_->client_wants_close || context_.draining();
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

}  // namespace lb::proxy
