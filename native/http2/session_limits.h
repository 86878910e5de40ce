// What one HTTP/2 client connection may do, and what it did that the defences refused.
// Every defence has a limit here and a counter in DefenceCounters; the defaults are those
// of a public-facing listener.
#pragma once

#include <cstdint>

namespace lb::http2 {

// A token bucket's shape: `burst` tokens at most, `per_second` regained each second.
struct RateLimit {
  uint32_t burst = 0;
  uint32_t per_second = 0;
};

struct SessionLimits {
  // Streams open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused (REFUSED_STREAM).
  uint32_t max_concurrent_streams = 100;
  // Request body bytes a stream may have received and its owner not yet consumed
  // (SETTINGS_INITIAL_WINDOW_SIZE): the per-stream memory bound.
  uint32_t stream_window = 65535;
  // The connection's receive window. Credit is returned as DATA arrives (the per-stream
  // windows bound memory), so one stalled stream never holds back the others.
  uint32_t connection_window = 1 << 20;
  // Decoded request header list (RFC 9113 accounting: name + value + 32 per field) and
  // fields per request; over either the request is answered 431.
  uint32_t max_header_list_bytes = 16384;
  uint32_t max_header_fields = 100;
  // Encoded header block (HEADERS + CONTINUATION payloads) and CONTINUATION frames per
  // block; over either is a connection error (CONTINUATION flood, HPACK bomb).
  uint32_t max_header_block_bytes = 65536;
  uint32_t max_continuation_frames = 8;
  // Response body bytes queued per stream before send_response_body refuses more.
  uint32_t max_queued_response_bytes = 65536;
  // A response stream with bytes queued that the client's flow-control window has kept
  // from moving this long is reset (slow read / zero-window stall), checked by
  // H2ServerSession::reset_stalled_streams from the owner's timer. 0: never.
  uint32_t stall_timeout_ms = 30000;
  // Bytes nghttp2 may allocate for this connection (HPACK tables, frames, stream state).
  uint32_t library_memory_budget = 1 << 20;
  // Streams the client resets, or makes us reset by sending a malformed request (rapid
  // reset CVE-2023-44487; "made you reset"); past the budget: GOAWAY ENHANCE_YOUR_CALM.
  RateLimit stream_resets{200, 50};
  // Control frames that cost us work but carry no request: past a budget, GOAWAY
  // ENHANCE_YOUR_CALM.
  RateLimit settings_frames{32, 4};
  RateLimit ping_frames{32, 4};
  RateLimit priority_frames{512, 128};
  RateLimit empty_data_frames{64, 16};  // DATA without payload and without END_STREAM
  RateLimit window_update_frames{1024, 256};
  // Each DATA frame we send earns the client this many extra WINDOW_UPDATE tokens (a
  // client downloading fast legitimately sends many).
  uint32_t window_updates_per_data_frame = 2;
  // SETTINGS entries per frame and ACKs (SETTINGS, PING) queued but not yet written
  // (a client that sends and never reads); both are nghttp2 options.
  uint32_t max_settings_entries = 32;
  uint32_t max_outbound_acks = 64;
};

// Why a connection was ended by a defence (one counter each in DefenceCounters).
enum class Defence : uint8_t {
  none,
  not_http2_preface,
  rapid_reset,
  continuation_flood,
  header_block_too_large,
  settings_flood,
  ping_flood,
  priority_flood,
  empty_data_flood,
  window_update_flood,
  memory_budget,
  library_flood,  // nghttp2's own flood checks (queued ACKs, its reset and CONTINUATION caps)
};

const char* to_string(Defence defence);

// Single-writer counters of one session (the owner sums them per worker).
struct DefenceCounters {
  uint64_t connections_ended[12] = {};  // indexed by Defence
  uint64_t header_list_too_large = 0;   // requests answered 431
  uint64_t unsupported_requests = 0;    // requests answered 501 (CONNECT)
  uint64_t malformed_requests = 0;      // streams reset PROTOCOL_ERROR for RFC 9113 §8 violations
  uint64_t refused_streams = 0;         // over max_concurrent_streams
  uint64_t streams_reset_by_client = 0;
  uint64_t stalled_streams_reset = 0;  // zero-window stalls past stall_timeout_ms

  uint64_t ended_by(Defence defence) const { return connections_ended[static_cast<uint8_t>(defence)]; }
};

}  // namespace lb::http2
