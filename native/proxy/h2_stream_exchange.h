// One HTTP/2 stream's exchange with a backend, over the same HTTP/1.1 pool, strategy,
// retries, limits, forwarded headers, access log and counters as a ClientConnection's:
//
//   connecting --backend ready--> exchanging --response complete--> finished
//   connecting --attempt failed, tries left--> connecting (another backend)
//   connecting / exchanging --failed before a response head--> finished (our status)
//   exchanging --failed mid-response--> finished (RST_STREAM)
//   any --stream reset / connection gone--> cancelled (the backend connection is closed)
//
// The request arrives already translated to an HTTP/1.1 head (http2/request_translator)
// and is parsed once more by http1's parser, so it is re-written for the backend by the
// very code HTTP/1.1 requests go through. Flow control ties each stream to its buffers:
// request body credit goes back to the client as the backend takes the bytes, and the
// backend is read only while the session takes the response bytes, so a slow-reading
// stream stops only its own backend.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "buffer/byte_buffer.h"
#include "http1/chunked_decoder.h"
#include "http2/request_translator.h"
#include "proxy/exchange.h"
#include "proxy/exchange_outcome.h"
#include "proxy/frontend_connection.h"
#include "proxy/upstream_exchange.h"

namespace lb::proxy {

class BackendConnection;
class H2ClientConnection;
class WorkerContext;

enum class H2StreamState : uint8_t { receiving, connecting, exchanging, finished, cancelled };
const char* to_string(H2StreamState state);

class H2StreamExchange final : public FrontendConnection, public UpstreamOwner {
 public:
  H2StreamExchange(H2ClientConnection& connection, int32_t stream_id);
  ~H2StreamExchange() override;

  // From the session, through the connection.
  void start(const http2::RequestHead& head);
  // Holds the bytes of the DATA frames the session reports while it reads one batch of
  // the client's input; true for the first of a batch (the connection then lists this
  // stream, to call flush_request_body once the session has read the batch).
  bool on_request_data(std::span<const uint8_t> bytes);
  // Sends what the batch brought as one piece (one chunk when chunked) and pumps once.
  void flush_request_body();
  void on_request_end(std::string_view trailer_lines);
  void on_response_writable();
  // The stream is gone (reset or connection closing, or done): closes a backend
  // connection still attached (never pooled then) and retires this object.
  void on_stream_closed(bool completed);
  // The connection is going: out of its backend's queue, so a slot freed meanwhile goes
  // to another connection's waiter.
  void leave_backend_queue() { upstream_side_.leave_queue(); }

  // FrontendConnection: reports of this stream's backend connection.
  void on_events(uint32_t) override {}
  void on_timer(reactor::Timer&) override {}
  void on_backend_connected() override;
  void on_backend_connect_failed(int error) override;
  void on_backend_io() override;
  void on_backend_timeout() override;
  void drain() override {}
  void close() override { on_stream_closed(false); }

  H2StreamState state() const { return state_; }
  // On the connection's tick: a request body that stopped arriving for timeouts.clientBodyMs,
  // or is not all in after timeouts.clientBodyTotalMs, ends the stream with 408 (or a reset
  // once a response has begun), as on HTTP/1.1; a request waiting for a backend slot is not timed.
  void check_body_timeout(uint64_t now_ms);

 private:
  void enter(H2StreamState next);
  // connecting: the upstream side's reports (UpstreamOwner)
  void on_upstream_ready() override;
  void on_upstream_connecting() override;
  void on_upstream_queued() override;
  void on_upstream_slot_granted() override;
  void on_upstream_refused(uint32_t retry_after_s) override;
  void on_upstream_failed(Outcome outcome) override;
  void pump();
  bool forward_request();
  bool forward_response();
  bool parse_response_head();
  bool relay_response_body(bool& moved);
  bool relay_chunked(bool& moved);
  bool try_replay();
  void finish_response(std::span<const http1::HeaderField> trailers);
  // Ends the exchange without the backend's full response (see ClientConnection::fail).
  void fail(Outcome outcome);
  void answer_locally(uint16_t status, uint32_t retry_after_s = 0);
  void give_request_credit();
  void frame_batch_body();
  bool backend_may_be_pooled() const;
  void release_exchange();
  void retire();

  H2ClientConnection& connection_;
  WorkerContext& context_;
  const int32_t stream_id_;
  H2StreamState state_ = H2StreamState::receiving;
  Exchange* exchange_ = nullptr;
  UpstreamExchange upstream_side_;  // the backend side of exchange_: backend, slots, connection
  buffer::ByteBuffer req_head_;     // the re-written head, kept for a replay until a response byte
  std::string req_body_;            // body bytes (chunk-framed when chunked) not yet sent
  std::string batch_body_;          // DATA bytes of the batch being read, not yet framed into req_body_
  size_t credit_owed_ = 0;          // request DATA bytes taken but not yet given back as window
  bool request_chunked_ = false;
  bool request_ended_ = false;      // END_STREAM seen
  uint64_t body_started_ms_ = 0;    // loop time the stream opened (the body's total clock)
  uint64_t last_body_byte_ms_ = 0;  // loop time of the last request DATA (the body's gap clock)
  buffer::ByteBuffer resp_;         // bytes from the backend
  http1::ChunkedDecoder chunked_;
  std::string chunk_framing_;     // framing since the last chunk data: holds the trailers at the end
  bool session_full_ = false;     // send_response_body refused bytes: wait for on_response_writable
  bool head_sent_ = false;        // a final response head went to the client
  uint32_t interim_relayed_ = 0;  // 1xx responses relayed (bounded: kMaxInterimResponses)
};

}  // namespace lb::proxy
