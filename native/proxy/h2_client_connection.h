// One HTTP/2 client connection: the socket (plain h2c, or TLS after ALPN chose "h2"), the
// H2ServerSession that speaks the protocol, and one H2StreamExchange per stream, each an
// HTTP/1.1 exchange with a backend. A ClientConnection hands its socket over once it
// knows the client speaks HTTP/2 (ClientConnection::hand_off_to_http2).
//
//   serving --stop (drain), reload of the listener's TLS/h2 settings, idle timeout--> goaway_sent
//     (the idle timeout is timeouts.clientHeadMs until the first stream, as for an HTTP/1.1
//     connection that sent no request yet, then timeouts.keepAliveMs)
//   goaway_sent --streams done--> closed
//   serving / goaway_sent --defence, protocol error, client gone--> closed
//
// Reads stop while our output to the client is blocked (the session's queues are bounded,
// and nghttp2 limits the ACKs it queues), so a client that does not read costs a bounded
// amount. Streams are pumped by their backend's events; the connection only writes what
// the session queued.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "http2/h2_server_session.h"
#include "proxy/client_transport.h"
#include "proxy/frontend_connection.h"
#include "reactor/timer_wheel.h"
#include "reactor/unique_fd.h"

namespace lb::proxy {

class H2StreamExchange;
class WorkerContext;
struct ListenerPolicy;
struct ProxyConfig;

// Whether a plain listener takes HTTP/2 with prior knowledge now: h2c carries proxied
// requests only, so not a listener that answers every request itself (redirect mode, a
// redirect to HTTPS). ACME challenges are answered on h2 streams too (see below).
bool listener_takes_h2c(const ProxyConfig& config, const ListenerPolicy& listener);

enum class H2ClientState : uint8_t { serving, goaway_sent, closed };
const char* to_string(H2ClientState state);

class H2ClientConnection final : public FrontendConnection, public http2::SessionOwner {
 public:
  // What a ClientConnection hands over: the socket, its transport (TLS state included),
  // the peer, the listener it was accepted on, and bytes already read from the client
  // (the h2c preface).
  struct Handoff {
    reactor::UniqueFd fd;
    ClientTransport transport;
    sockaddr_in6 peer;
    uint16_t listener_index = 0;
    std::string client_subject;
    std::string read_ahead;
  };
  // Takes the socket over from `previous` (which is retired). Returns nullptr if the
  // session could not start (the socket is then closed).
  static H2ClientConnection* take_over(WorkerContext& context, FrontendConnection& previous, Handoff handoff);

  void on_events(uint32_t events) override;
  void on_timer(reactor::Timer& timer) override;
  // A connection has no backend of its own: its streams do.
  void on_backend_connected() override {}
  void on_backend_connect_failed(int) override {}
  void on_backend_io() override {}
  void on_backend_timeout() override {}
  void drain() override;
  void close() override;

  // http2::SessionOwner
  void on_request_head(int32_t stream_id, const http2::RequestHead& head) override;
  void on_request_data(int32_t stream_id, std::span<const uint8_t> bytes) override;
  void on_request_end(int32_t stream_id, std::string_view trailer_lines) override;
  void on_stream_closed(int32_t stream_id, bool completed, uint32_t error_code) override;
  void on_response_writable(int32_t stream_id) override;

  // For its streams.
  WorkerContext& context() { return context_; }
  http2::H2ServerSession& session() { return *session_; }
  const sockaddr_in6& peer() const { return peer_; }
  // Its listener's policy in the current snapshot (TLS, HSTS, mTLS header).
  const ListenerPolicy& listener() const;
  bool is_tls() const { return transport_.is_tls(); }
  const std::string& client_subject() const { return client_subject_; }
  bool is_closed() const { return state_ == H2ClientState::closed; }
  // Writes what the session queued (deferred while the session is calling us, or while
  // an OutputHold lasts).
  void flush();
  // While a stream gives its backend slots back: a slot may be granted at once to a
  // sibling stream whose flush() would end the first stream under its own feet (nghttp2
  // closes a stream as its last frame goes out). The giving stream flushes afterwards.
  class OutputHold {
   public:
    explicit OutputHold(H2ClientConnection& connection) : connection_(connection) { ++connection_.output_holds_; }
    ~OutputHold() { --connection_.output_holds_; }
    OutputHold(const OutputHold&) = delete;
    OutputHold& operator=(const OutputHold&) = delete;

   private:
    H2ClientConnection& connection_;
  };

  H2ClientState state() const { return state_; }

 private:
  H2ClientConnection(WorkerContext& context, Handoff handoff);
  ~H2ClientConnection() override;
  void enter(H2ClientState next);
  bool start(std::string_view read_ahead);
  void read_and_feed();
  // Feeds one read's bytes to the session, then flush_request_bodies: the DATA frames of
  // one read go to each stream's backend as one piece, not a write per frame.
  bool feed(std::span<const uint8_t> bytes);
  void flush_request_bodies();
  void begin_goaway();
  void add_session_counters();
  void arm_tick();
  bool listener_changed() const;
  // Answers an ACME HTTP-01 challenge request itself (as HTTP/1.1 does), so no stream
  // takes the challenge path to a backend while the responder is on. True if it did.
  bool answer_acme_challenge(int32_t stream_id, const http2::RequestHead& head);
  // Before a connection's streams are cancelled together: none of them may be granted a
  // slot another frees meanwhile (it would start backend work only to drop it).
  void withdraw_waiting_streams();

  WorkerContext& context_;
  reactor::UniqueFd fd_;
  ClientTransport transport_;
  sockaddr_in6 peer_{};
  uint16_t listener_index_ = 0;
  std::string client_subject_;
  reactor::Timer timer_;
  // Declared before session_: the session (destroyed first) may still report streams.
  std::unordered_map<int32_t, H2StreamExchange*> streams_;
  std::vector<int32_t> body_check_ids_;  // the tick's scratch list (kept: no allocation per tick)
  std::vector<int32_t> body_flush_ids_;  // streams given request body bytes by the batch being fed
  std::unique_ptr<http2::H2ServerSession> session_;
  H2ClientState state_ = H2ClientState::serving;
  bool readable_ = true;
  bool writable_ = true;
  bool peer_closed_ = false;
  bool in_session_ = false;  // inside a session call: flush() waits for it to return
  bool flush_wanted_ = false;
  uint32_t output_holds_ = 0;  // OutputHolds alive: flush() waits for the holder's own
  // The TLS context its handshake used (kept alive by the TLS stream, so the address
  // cannot be reused), nullptr for h2c: a reload that replaces its listener's context
  // sends GOAWAY so the client reconnects under the new certificates.
  const void* tls_context_ = nullptr;
  uint64_t idle_since_ms_ = 0;
  bool stream_seen_ = false;  // the idle timeout is clientHeadMs until the first stream
  // When our writes last stopped on EAGAIN with bytes left (0: not blocked): a client that
  // stops reading altogether is closed after the keep-alive timeout.
  uint64_t write_blocked_since_ms_ = 0;  // when the last stream closed (the idle timeout counts from it)
  http2::DefenceCounters counted_{};     // what add_session_counters already added to the worker
};

}  // namespace lb::proxy
