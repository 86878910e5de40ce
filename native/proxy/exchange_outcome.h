// How an exchange (or the wait for one) ended when it did not end with the backend's
// complete response: one list (HAProxy's SF_ERR_* idea), and for each outcome what the
// client is told, which counter it lands in and whether it counts against the backend's
// passive health. ClientConnection::fail() is the one path that applies them.
#pragma once

#include <cstdint>

namespace lb::proxy {

enum class Outcome : uint8_t {
  // The client's doing: answered 4xx by the balancer (bad_requests).
  bad_request,            // 400: malformed head, bad body framing, refused header names
  uri_too_long,           // 414
  head_too_large,         // 431
  body_too_large,         // 413
  version_not_supported,  // 505
  method_not_allowed,     // 405: CONNECT
  client_timeout,         // 408: the head or the body did not arrive in time
  // Nothing in service to send it to (no_backend).
  no_backend,  // 503
  // The backend's doing (bad_gateway, gateway_timeout).
  tries_exhausted,   // 502: every try failed (each failure was reported as it happened)
  backend_failed,    // 502: closed or reset before its response was complete
  bad_response,      // 502: a response we cannot pass on (malformed, unasked 101, framing)
  response_timeout,  // 504
};

enum class Tally : uint8_t { bad_requests, no_backend, bad_gateway, gateway_timeout };

struct OutcomeRule {
  const char* name;
  uint16_t status;  // what the client gets if no byte of a response went out yet
  Tally tally;
  // Reported to the backend's passive health (and counted in its errors) with this
  // reason; nullptr when it is not the backend's fault or was reported already.
  const char* backend_failure;
};

const OutcomeRule& rule_of(Outcome outcome);
const char* to_string(Outcome outcome);
// The outcome of a status the HTTP/1 parser chose for a malformed request (400, 413,
// 414, 431, 505).
Outcome outcome_of_request_status(uint16_t status);

}  // namespace lb::proxy
