// One client connection, and its state machine:
//
//   handshaking --TLS established--> reading_head       (TLS listeners start here)
//   handshaking --plain HTTP on the TLS port--> responding (a short 400, then close)
//   handshaking --failed, timed out--> closed
//   reading_head --head parsed--> connecting --backend connected--> exchanging
//        ^                              ^   (pooled backend: straight to exchanging)
//        |                              +---- reused connection failed, replay ----+
//        |                      (a retry on another backend's pooled connection:
//        |                       exchanging again)
//        +-------- response done, keep-alive -------------------------------------+
//   exchanging --101 Switching Protocols--> tunneling --both sides closed--> closed
//   reading_head --redirect mode, or refused--> responding (a response of our own)
//   any state --failed before a response byte--> responding (4xx/5xx, then close)
//   exchanging --backend failed mid-body--> responding (the validated bytes, then close)
//   exchanging / responding --done, closing--> lingering_close --> closed
//   responding --done, keep-alive (redirects)--> reading_head
//
// The connection owns the bytes of both directions for its current exchange; its
// backend connection only reports readiness. Independent facts (peer closed, writable)
// are flags beside the state, not more states.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "buffer/byte_buffer.h"
#include "proxy/client_transport.h"
#include "proxy/exchange.h"
#include "proxy/exchange_outcome.h"
#include "proxy/frontend_connection.h"
#include "proxy/pipe_pool.h"
#include "proxy/relay.h"
#include "proxy/upstream_exchange.h"
#include "reactor/timer_wheel.h"
#include "reactor/unique_fd.h"
#include "upstream/backend_queue.h"

namespace lb::proxy {

class BackendConnection;
class WorkerContext;

enum class ClientState : uint8_t {
  handshaking,      // TLS: the handshake (the TLS stream is made at the first readable edge)
  reading_head,     // waiting for a complete request head (an idle keep-alive connection too)
  connecting,       // head parsed and re-written; waiting for a backend connection
  exchanging,       // request and response flowing between the client and the backend
  tunneling,        // after a 101 (WebSocket): bytes flow both ways untouched
  responding,       // writing a response of our own (an error, a redirect)
  lingering_close,  // response written, write side shut; reading and discarding until EOF
  closed,
};
const char* to_string(ClientState state);

class ClientConnection final : public FrontendConnection, public UpstreamOwner {
 public:
  // Takes a socket accepted on listener `listener_index` (its TLS, its HTTPS redirect)
  // and starts the handshake or reads a request head. `ticket` (the client's place in the
  // per-client connection count) is attached before the first read, so a hand-off to
  // HTTP/2 during that read takes it along.
  static ClientConnection* accept(WorkerContext& context, reactor::UniqueFd fd, const sockaddr_storage& peer,
                                  uint16_t listener_index, protection::ConnectionTicket ticket);

  void on_events(uint32_t events) override;
  void on_timer(reactor::Timer& timer) override;

  void on_backend_connected() override;
  void on_backend_connect_failed(int error) override;
  void on_backend_io() override;
  void on_backend_timeout() override;
  void drain() override;
  void close() override;

  ClientState state() const { return state_; }

 private:
  ClientConnection(WorkerContext& context, reactor::UniqueFd fd);
  ~ClientConnection() override;
  void enter(ClientState next);

  // handshaking
  void continue_handshake();
  void answer_plain_http_on_tls_port();
  // HTTP/2 (client_h2_handoff.cpp): after ALPN "h2", or an h2c preface on a plain
  // listener with http2c on, the socket goes to an H2ClientConnection.
  enum class H2cPreface : uint8_t { none, partial, complete };
  H2cPreface h2c_preface() const;
  void hand_off_to_http2();
  // reading_head
  void read_request_head();
  void start_exchange(const http1::MessageHead& head);
  // connecting: the upstream side's reports (UpstreamOwner); the maxConnections ones
  // (queued, slot granted, refused) are in client_limits.cpp.
  void on_upstream_ready() override;
  void on_upstream_connecting() override;
  void on_upstream_queued() override;
  void on_upstream_slot_granted() override;
  void on_upstream_refused(uint32_t retry_after_s) override;
  void on_upstream_failed(Outcome outcome) override;
  // exchanging
  void pump();
  bool forward_request();
  bool forward_response();
  // Large Content-Length bodies between two plain sockets move by splice(2): whether the
  // next bytes of each body should, and the step that moves them (false: the connection
  // closed). A pipe is held only while it holds bytes.
  bool may_splice() const;
  bool wants_request_splice() const;
  bool wants_response_splice() const;
  bool splice_request_body(bool& moved);
  bool splice_response_body(bool& moved);
  void release_pipes();
  // A body longer than what `buffer` holds continues through a larger block (from the
  // worker's stream pool) once `buffer` is empty.
  void stream_through_large_block(buffer::ByteBuffer& buffer, const BodyProgress& body);
  void count_body_path(const BodyProgress& body);
  // left_exchange: the exchange failed (an error response was sent) or became a tunnel.
  enum class HeadOutcome : uint8_t { need_more, parsed, left_exchange };
  HeadOutcome parse_response_head();
  HeadOutcome refuse_response();
  // The one way an exchange ends other than with the backend's full response: counts it,
  // reports it to the backend's passive health if it is the backend's fault, and answers
  // the client (our own status if nothing went out yet; else, for a backend failure, the
  // `flushable` validated body bytes at the front of resp_ and a close; else a close).
  void fail(Outcome outcome, size_t flushable = 0);
  // Mid-response: flushes the rest of a relayed head and `ready` validated body bytes,
  // then closes, so the client's framing shows the response as truncated.
  void abort_response(size_t ready);
  bool try_replay();
  void finish_exchange();
  bool request_body_unread() const;
  void release_exchange();
  bool backend_may_be_pooled() const;
  void release_backend(bool reusable);
  // responding
  void answer_redirect(const http1::MessageHead& head);
  // True if the request was an ACME HTTP-01 challenge, now answered from the table.
  bool answer_acme_challenge(const http1::MessageHead& head);
  // A rate limit refused the request: 429 with Retry-After (client_limits.cpp).
  void refuse_over_rate(const http1::MessageHead& head, uint64_t wait_ms);
  // 503 with Retry-After after the request head was consumed (queue full or timed out).
  void refuse_unavailable(uint32_t retry_after_s);
  void answer_https_redirect(const http1::MessageHead& head);
  void send_error(uint16_t status);
  void respond_locally(bool close_after);
  void flush_local_response();
  // `request_unread`: the client may still be sending its request (its body was not read
  // to the end), so the socket is never simply closed.
  void begin_lingering_close(bool request_unread);
  void reset_connection();
  // tunneling
  void enter_tunnel();
  void pump_tunnel();
  void discard_input();

  enum class TimerKind : uint8_t { none, handshake, head, body, keep_alive, tunnel_idle, lingering };
  void arm_timer(TimerKind kind);

  WorkerContext& context_;
  reactor::UniqueFd fd_;
  ClientTransport transport_;    // every read and write of fd_
  std::string client_subject_;   // mTLS: the verified client certificate's subject (RFC 2253)
  buffer::ByteBuffer in_;        // bytes from the client: head, body, pipelined requests
  buffer::ByteBuffer out_;       // our bytes to the client: response heads, error responses
  buffer::ByteBuffer req_head_;  // the re-written request head, kept until a response byte arrives
  buffer::ByteBuffer resp_;      // bytes from the backend
  reactor::Timer timer_;
  Exchange* exchange_ = nullptr;    // from the worker's free list while a request is in flight
  UpstreamExchange upstream_side_;  // the backend side of exchange_: backend, slots, connection
  sockaddr_in6 peer_{};             // large enough for IPv4 and IPv6 peers
  uint16_t listener_index_ = 0;     // the listener it was accepted on (ProxyConfig::listeners)
  uint32_t head_scan_from_ = 0;
  http1::RequestLineCheck line_check_;  // the request line of the head being read
  ClientState state_ = ClientState::reading_head;
  TimerKind timer_kind_ = TimerKind::none;
  bool readable_ = false;
  bool writable_ = true;
  bool peer_closed_ = false;
  bool close_after_response_ = true;  // responding: close, or keep alive, once written
  // responding a truncated response whose client framing is the close itself (de-chunked
  // for an HTTP/1.0 client): a FIN would pass it off as complete, so it ends with a reset.
  bool reset_after_response_ = false;
  // A request was read: the h2c preface can no longer come (RFC 9113: it opens the connection).
  bool spoke_http1_ = false;
  SplicePipe* request_pipe_ = nullptr;   // client -> backend, while it holds body bytes
  SplicePipe* response_pipe_ = nullptr;  // backend -> client, while it holds body bytes
  // tunneling: client -> backend through in_, backend -> client through resp_.
  BufferRelay upstream_;
  BufferRelay downstream_;
};

}  // namespace lb::proxy
