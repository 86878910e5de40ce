// One request and its response: the facts a client connection keeps while they flow.
// Request and response progress independently (a backend may answer before the request
// body is fully sent), so each has its own phase.
#pragma once

#include <cstdint>

#include "balancing/strategy.h"
#include "http1/chunked_decoder.h"
#include "http1/parser.h"
#include "stats/event_ring.h"
#include "upstream/upstream_backend.h"

namespace lb::proxy {

enum class RequestPhase : uint8_t { sending, done };
enum class ResponsePhase : uint8_t { awaiting_head, body, done };

struct BodyProgress {
  http1::BodyKind kind = http1::BodyKind::none;
  uint64_t remaining = 0;         // content_length: bytes still to forward
  http1::ChunkedDecoder chunked;  // chunked: validator state
  uint32_t validated = 0;         // chunked: bytes at the buffer front already validated
  bool complete = false;          // every byte of the body has been validated
  bool dechunk = false;           // chunked: strip the framing, forward only the data
  uint64_t data_bytes = 0;        // chunked: data bytes seen so far (limits count these)
  bool has_bytes = false;         // a body with at least one byte (for the path counters)
  bool spliced = false;           // some of its bytes went by splice(2), not through a buffer

  void start(http1::BodyKind body_kind, uint64_t content_length) {
    kind = body_kind;
    remaining = content_length;
    chunked.reset();
    validated = 0;
    dechunk = false;
    data_bytes = 0;
    spliced = false;
    has_bytes = body_kind == http1::BodyKind::chunked || body_kind == http1::BodyKind::until_close ||
                (body_kind == http1::BodyKind::content_length && content_length > 0);
    complete =
        body_kind == http1::BodyKind::none || (body_kind == http1::BodyKind::content_length && content_length == 0);
  }
};

static constexpr uint32_t kMaxConnectTries = 4;

struct Exchange {
  http1::Method method = http1::Method::other;
  uint8_t request_version_minor = 1;
  bool client_wants_close = false;    // Connection: close, or HTTP/1.0 without keep-alive
  bool client_keep_alive_10 = false;  // HTTP/1.0 with Connection: keep-alive
  bool retryable = false;             // idempotent and without a body: may be replayed
  bool replayed_fresh = false;        // already replayed once after a stale pooled connection
  bool response_bytes_seen = false;   // a byte came from the backend: no more replays
  bool response_started = false;      // a byte went to the client: errors can only close
  bool backend_keep_alive = false;    // the backend will keep the connection open
  bool close_client = false;          // close the client connection after this response
  bool upgrade_requested = false;     // Connection: upgrade with an Upgrade header
  uint16_t status = 0;
  uint32_t tries = 0;
  // What the strategy needs, computed once from the head (the head itself is not kept).
  uint64_t pick_key = 0;
  bool has_pick_key = false;
  uint64_t sticky_identity = 0;
  bool has_sticky = false;
  uint64_t started_us = 0;        // for latency samples
  uint64_t body_deadline_ms = 0;  // loop time by which the request body must be in (0: none)
  uint64_t response_bytes = 0;    // bytes written to the client for this exchange
  // Only for requests sampled into the access log; pushed to the worker's ring and freed
  // when the exchange ends.
  stats::AccessRecord* access = nullptr;
  balancing::BackendRuntime* tried[kMaxConnectTries] = {};  // as strategies see them (skipped)
  upstream::UpstreamBackend* counted_on = nullptr;          // the backend whose request count has this request
  uint32_t request_head_sent = 0;                           // bytes of the re-written head written so far

  RequestPhase request_phase = RequestPhase::sending;
  ResponsePhase response_phase = ResponsePhase::awaiting_head;
  BodyProgress request_body;
  BodyProgress response_body;
  uint32_t response_scan_from = 0;
  // maxConnections: the load whose slot this request holds (null: none) and its backend's
  // id; `queued` while it waits for one (client_limits.cpp).
  stats::BackendLoad* slot_load = nullptr;
  uint32_t slot_backend_id = 0;
  bool queued = false;
  // The pool's circuit breaker: this request holds one of its maxRequests slots.
  bool pool_counted = false;
};

}  // namespace lb::proxy
