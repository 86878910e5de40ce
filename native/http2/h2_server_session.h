// One HTTP/2 client connection, server side: nghttp2 driven from byte buffers (the owner
// feeds what it read and writes what pending_output() gives; no sockets here), the
// defences of docs/http2.md in front of it, and each stream surfaced to a SessionOwner as
// an HTTP/1.1 request head, body and end, answered through the response methods below.
//
// Life of a connection: start() queues our SETTINGS; feed() each read; write
// pending_output() until empty after every feed() and owner call; stop_gracefully() sends
// GOAWAY with the last stream id (streams up to it finish); finished() says when nothing
// is left to read or write, and the owner closes. A defence (or a protocol error) queues
// a GOAWAY and ends every stream at once (on_stream_closed, completed = false).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "http1/parser.h"
#include "http2/frame_gate.h"
#include "http2/memory_budget.h"
#include "http2/nghttp2_ptr.h"
#include "http2/session_limits.h"
#include "http2/session_owner.h"

namespace lb::http2 {

enum class FeedResult : uint8_t {
  ok,
  not_http2,  // the bytes do not start with the HTTP/2 preface (see looks_like_http1()); nothing queued
  closing,    // the connection is ending (GOAWAY queued): write pending output, then close
};

class H2ServerSession {
 public:
  H2ServerSession(SessionOwner& owner, const SessionLimits& limits, uint64_t now_ms);
  ~H2ServerSession();
  H2ServerSession(const H2ServerSession&) = delete;
  H2ServerSession& operator=(const H2ServerSession&) = delete;

  // Queues our SETTINGS. False if nghttp2 could not be set up (memory budget).
  bool start();
  FeedResult feed(std::span<const uint8_t> bytes, uint64_t now_ms);

  // Bytes to write, valid until output_sent() consumed them all or the next call;
  // empty when there is nothing to write.
  std::span<const uint8_t> pending_output();
  void output_sent(size_t bytes);

  // --- per stream, from the owner ---
  // The owner passed `bytes` of this stream's request body on: the client may send more.
  void consume_request_body(int32_t stream_id, size_t bytes);
  // 1xx (100, 103) or the final response head; false if the stream is gone, the head is
  // not relayable (101) or a final head was already sent.
  bool submit_response_head(int32_t stream_id, const http1::MessageHead& head);
  // Queues response body bytes; returns how many were taken (fewer than offered: wait for
  // on_response_writable). Bytes for a bodiless response (HEAD, 204, 304) are dropped.
  size_t send_response_body(int32_t stream_id, std::span<const uint8_t> bytes);
  // The body is complete, with optional trailers.
  bool end_response(int32_t stream_id, std::span<const http1::HeaderField> trailers = {});
  // The owner gives up on a stream (backend failed mid-response): RST_STREAM.
  void reset_stream(int32_t stream_id, uint32_t error_code);
  // GOAWAY with the last stream id received: no new streams, open ones finish.
  void stop_gracefully();
  // Resets (CANCEL) every stream whose queued response bytes have been held back by the
  // client's flow-control window for stall_timeout_ms; returns how many. Call it from a
  // timer (every few seconds): a client that stops reading cannot pin them forever.
  size_t reset_stalled_streams(uint64_t now_ms);
  // An idle connection (no stream, nothing queued or waiting to be written) hands the
  // pages of nghttp2's outbound frame buffer back to the kernel: scratch between frames,
  // and most of what an idle connection would otherwise keep resident. Once per idle
  // spell (until the next output); returns the bytes handed back. Call it from a timer.
  size_t release_idle_memory();

  // --- state ---
  bool finished() const;
  bool looks_like_http1() const { return looks_like_http1_; }
  Defence ended_by() const { return ended_by_; }
  const DefenceCounters& counters() const { return counters_; }
  size_t open_streams() const { return streams_.size(); }
  // Bytes nghttp2 holds for this connection now, and the most it held.
  size_t library_bytes() const { return memory_.in_use(); }
  size_t library_peak_bytes() const { return memory_.peak(); }
  // Response bytes queued in this session, all streams (bounded per stream).
  size_t queued_response_bytes() const { return queued_response_bytes_; }

  struct Stream;

 private:
  friend struct Callbacks;

  Stream* find(int32_t stream_id);
  void end_connection(Defence defence, uint32_t error_code);
  void close_all_streams(uint32_t error_code);
  void refuse_stream(Stream& stream);
  void charge_reset();
  void notify_writable();

  SessionOwner& owner_;
  const SessionLimits limits_;
  MemoryBudget memory_;
  FrameGate gate_;
  SessionPtr session_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  TokenBucket resets_;
  DefenceCounters counters_;
  Defence ended_by_ = Defence::none;
  bool looks_like_http1_ = false;
  bool broken_ = false;  // nghttp2 failed fatally: nothing more is read or written
  uint64_t now_ms_ = 0;
  const uint8_t* output_ = nullptr;
  size_t output_size_ = 0;
  size_t output_offset_ = 0;
  size_t queued_response_bytes_ = 0;
  bool writable_pending_ = false;      // some stream's owner waits for on_response_writable
  bool idle_memory_released_ = false;  // no output since release_idle_memory() last ran
};

}  // namespace lb::http2
