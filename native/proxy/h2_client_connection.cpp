#include "proxy/h2_client_connection.h"

#include <sys/epoll.h>
#include <sys/uio.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "http1/acme_challenge.h"
#include "proxy/h2_stream_exchange.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

namespace {
// The tick that checks for stalled streams and the idle timeout.
constexpr uint64_t kTickMs = 1000;
constexpr size_t kReadChunk = 16 * 1024;
// NGHTTP2_INTERNAL_ERROR
constexpr uint32_t kInternalError = 0x2;
}  // namespace

bool listener_takes_h2c(const ProxyConfig& config, const ListenerPolicy& listener) {
  return config.http2.cleartext && config.mode == ProxyMode::http && !listener.https_redirect.enabled &&
         !listener.tls.enabled();
}

const char* to_string(H2ClientState state) {
  switch (state) {
    case H2ClientState::serving: return "serving";
    case H2ClientState::goaway_sent: return "goaway_sent";
    case H2ClientState::closed: return "closed";
  }
  return "unknown";
}

H2ClientConnection::H2ClientConnection(WorkerContext& context, Handoff handoff)
    : context_(context),
      fd_(std::move(handoff.fd)),
      transport_(std::move(handoff.transport)),
      peer_(handoff.peer),
      listener_index_(handoff.listener_index),
      client_subject_(std::move(handoff.client_subject)),
      timer_(this) {}

H2ClientConnection::~H2ClientConnection() = default;

const ListenerPolicy& H2ClientConnection::listener() const { return context_.listener(listener_index_); }

H2ClientConnection* H2ClientConnection::take_over(WorkerContext& context, FrontendConnection& previous,
                                                  Handoff handoff) {
  std::string read_ahead = std::move(handoff.read_ahead);
  auto* connection = new H2ClientConnection(context, std::move(handoff));
  connection->client_ticket = std::move(previous.client_ticket);
  context.replace_client(&previous, connection, connection->fd_.get());
  context.counters.h2_connections.add();
  if (!connection->start(read_ahead)) {
    connection->close();
    return nullptr;
  }
  if (context.draining() && !connection->is_closed()) connection->drain();
  return connection;
}

bool H2ClientConnection::start(std::string_view read_ahead) {
  session_ = std::make_unique<http2::H2ServerSession>(*this, context_.config().http2.limits, context_.loop.now_ms());
  in_session_ = true;
  bool ok = session_->start();
  in_session_ = false;
  if (!ok) return false;
  idle_since_ms_ = context_.loop.now_ms();
  // The context the handshake used, not the listener's now: a reload between the
  // handshake and this hand-off has already replaced it.
  tls_context_ = transport_.is_tls() ? transport_.tls()->context() : nullptr;
  arm_tick();
  if (!read_ahead.empty() && !feed({reinterpret_cast<const uint8_t*>(read_ahead.data()), read_ahead.size()})) {
    return state_ != H2ClientState::closed;
  }
  // The client's first frames often came with the preface or the TLS handshake: read at
  // once (a TLS stream may hold them already, where no edge will announce them).
  readable_ = true;
  read_and_feed();
  if (state_ != H2ClientState::closed) flush();
  return true;
}

void H2ClientConnection::enter(H2ClientState next) {
#ifdef LB_STATE_CHECKS
  bool legal = next == H2ClientState::closed ? state_ != H2ClientState::closed
                                             : state_ == H2ClientState::serving && next == H2ClientState::goaway_sent;
  if (!legal) {
    std::fprintf(stderr, "H2ClientConnection: illegal transition %s -> %s\n", to_string(state_), to_string(next));
    std::abort();
  }
#endif
  state_ = next;
}

void H2ClientConnection::arm_tick() { context_.loop.timers().arm(timer_, kTickMs); }

void H2ClientConnection::on_events(uint32_t events) {
  if (state_ == H2ClientState::closed) return;
  events = transport_.map_events(events);
  if (events & EPOLLIN) readable_ = true;
  if (events & EPOLLOUT) writable_ = true;
  if (events & (EPOLLRDHUP | EPOLLHUP)) {
    peer_closed_ = true;
    readable_ = true;
  }
  if (events & EPOLLERR) {
    close();
    return;
  }
  flush();
  if (state_ == H2ClientState::closed) return;
  read_and_feed();
  if (state_ == H2ClientState::closed) return;
  flush();
}

void H2ClientConnection::read_and_feed() {
  uint8_t chunk[kReadChunk];
  // While our output is blocked nothing more is read: what the client sends meanwhile
  // waits in the kernel (TCP flow control), not in our memory.
  while (readable_ && state_ != H2ClientState::closed) {
    if (!writable_) return;  // the writable edge reads again (on_events)
    IoResult io = transport_.read(reinterpret_cast<char*>(chunk), sizeof(chunk));
    if (io.status == IoStatus::progress) {
      context_.counters.bytes_from_clients.add(io.bytes);
      if (io.bytes < sizeof(chunk) && !peer_closed_ && transport_.short_read_drains()) readable_ = false;
      if (!feed({chunk, io.bytes})) return;
      flush();
      continue;
    }
    if (io.status == IoStatus::would_block) {
      readable_ = false;
      return;
    }
    // EOF or a read error: the client is gone, and so is every stream's reason to be.
    close();
    return;
  }
}

bool H2ClientConnection::feed(std::span<const uint8_t> bytes) {
  in_session_ = true;
  http2::FeedResult result = session_->feed(bytes, context_.loop.now_ms());
  flush_request_bodies();
  in_session_ = false;
  add_session_counters();
  switch (result) {
    case http2::FeedResult::ok: return true;
    case http2::FeedResult::not_http2:
      // Only a prior-knowledge client can get here (ALPN chose h2 for the others): a
      // connection that is not HTTP/2 after all is closed.
      close();
      return false;
    case http2::FeedResult::closing:
      if (state_ == H2ClientState::serving) enter(H2ClientState::goaway_sent);
      readable_ = false;
      flush();
      return false;
  }
  return true;
}

void H2ClientConnection::flush() {
  if (state_ == H2ClientState::closed) return;
  if (in_session_ || output_holds_ > 0) {
    flush_wanted_ = true;
    return;
  }
  do {
    flush_wanted_ = false;
    while (writable_) {
      in_session_ = true;
      std::span<const uint8_t> out = session_->pending_output();
      in_session_ = false;
      if (state_ == H2ClientState::closed) return;
      if (out.empty()) break;
      iovec part{const_cast<uint8_t*>(out.data()), out.size()};
      IoResult io = transport_.write(&part, 1);
      if (io.status == IoStatus::progress) {
        write_blocked_since_ms_ = 0;
        session_->output_sent(io.bytes);
        context_.counters.bytes_to_clients.add(io.bytes);
        continue;
      }
      if (io.status == IoStatus::would_block) {
        writable_ = false;
        if (write_blocked_since_ms_ == 0) write_blocked_since_ms_ = context_.loop.now_ms();
        break;
      }
      close();
      return;
    }
  } while (flush_wanted_ && writable_);
  add_session_counters();  // some are counted as frames go out (refused streams)
  if (session_->finished()) close();
}

void H2ClientConnection::add_session_counters() {
  const http2::DefenceCounters& now = session_->counters();
  stats::WorkerCounters& counters = context_.counters;
  counters.h2_resets_by_client.add(now.streams_reset_by_client - counted_.streams_reset_by_client);
  counters.h2_refused_streams.add(now.refused_streams - counted_.refused_streams);
  counters.h2_malformed_requests.add(now.malformed_requests - counted_.malformed_requests);
  counters.h2_stalled_streams_reset.add(now.stalled_streams_reset - counted_.stalled_streams_reset);
  counters.h2_header_list_too_large.add(now.header_list_too_large - counted_.header_list_too_large);
  for (size_t i = 1; i < std::size(now.connections_ended) && i < stats::WorkerCounters::kH2Defences; ++i) {
    counters.h2_ended_by[i].add(now.connections_ended[i] - counted_.connections_ended[i]);
  }
  counted_ = now;
}

void H2ClientConnection::on_timer(reactor::Timer&) {
  if (state_ == H2ClientState::closed) return;
  const uint64_t now = context_.loop.now_ms();
  if (write_blocked_since_ms_ != 0 && now - write_blocked_since_ms_ >= context_.config().timeouts.keep_alive_ms) {
    close();  // the client stopped reading altogether: nothing we queue can leave
    return;
  }
  in_session_ = true;
  session_->reset_stalled_streams(now);
  // Request bodies that stopped (slow-POST): by id, as ending one may close its stream.
  body_check_ids_.clear();
  for (const auto& [id, stream] : streams_) body_check_ids_.push_back(id);
  for (int32_t id : body_check_ids_) {
    auto found = streams_.find(id);
    if (found != streams_.end()) found->second->check_body_timeout(now);
  }
  in_session_ = false;
  add_session_counters();
  // A connection that never opened a stream is timed like an HTTP/1.1 connection that
  // sent no request yet (clientHeadMs), not like one idle between requests.
  const Timeouts& timeouts = context_.config().timeouts;
  const uint64_t idle_limit_ms = stream_seen_ ? timeouts.keep_alive_ms : timeouts.client_head_ms;
  if (state_ == H2ClientState::serving && streams_.empty() && now - idle_since_ms_ >= idle_limit_ms) begin_goaway();
  if (state_ == H2ClientState::serving && streams_.empty()) session_->release_idle_memory();
  // A reload that changed the listener: the client is asked to go on over a new
  // connection (new certificates, http2 options); streams in flight finish here.
  if (state_ == H2ClientState::serving && listener_changed()) begin_goaway();
  if (state_ == H2ClientState::closed) return;
  flush();
  if (state_ != H2ClientState::closed) arm_tick();
}

bool H2ClientConnection::listener_changed() const {
  // What matters is what this connection was made under: its listener's certificates
  // (or the listener turning TLS or plain), and the option that lets this kind of
  // connection speak HTTP/2 (ALPN h2 for TLS, prior knowledge for h2c); not the other
  // kind's option, nor another listener's certificates.
  const ProxyConfig& config = context_.config();
  const ListenerPolicy& policy = listener();
  if (policy.tls.context.get() != tls_context_) return true;
  return is_tls() ? !config.http2.enabled : !listener_takes_h2c(config, policy);
}

void H2ClientConnection::begin_goaway() {
  if (state_ != H2ClientState::serving) return;
  enter(H2ClientState::goaway_sent);
  in_session_ = true;
  session_->stop_gracefully();
  in_session_ = false;
}

void H2ClientConnection::drain() {
  // Stop or reload: GOAWAY with the last stream id; streams up to it finish, then the
  // session is finished and flush() closes.
  begin_goaway();
  flush();
}

void H2ClientConnection::close() {
  if (state_ == H2ClientState::closed) return;
  enter(H2ClientState::closed);
  // Every stream's backend work ends with the connection.
  withdraw_waiting_streams();
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) stream->on_stream_closed(false);
  context_.counters.h2_streams_active.sub(streams.size());
  context_.loop.timers().disarm(timer_);
  transport_.close_notify();
  transport_.release();
  context_.loop.remove(fd_.get());
  fd_.reset();
  closed_ = true;
  context_.release_client(this);
}

// ---------------------------------------------------------------------------------------
// SessionOwner

void H2ClientConnection::withdraw_waiting_streams() {
  // Out of the backend queues first: a slot one of them gives back while the others are
  // cancelled then goes to another connection's waiter (the queue passes it on), instead
  // of being granted to a sibling that would connect, maybe send its request on a pooled
  // connection, and be cancelled a moment later.
  for (auto& [id, stream] : streams_) stream->leave_backend_queue();
}

void H2ClientConnection::on_request_head(int32_t stream_id, const http2::RequestHead& head) {
  if (state_ == H2ClientState::closed) return;
  stream_seen_ = true;
  if (answer_acme_challenge(stream_id, head)) return;
  auto* stream = new H2StreamExchange(*this, stream_id);
  streams_[stream_id] = stream;
  context_.counters.h2_streams_active.add();
  stream->start(head);
}

void H2ClientConnection::on_request_data(int32_t stream_id, std::span<const uint8_t> bytes) {
  auto found = streams_.find(stream_id);
  if (found == streams_.end()) {
    session_->consume_request_body(stream_id, bytes.size());  // nobody wants it: give the window back
    return;
  }
  if (found->second->on_request_data(bytes)) body_flush_ids_.push_back(stream_id);
}

void H2ClientConnection::on_request_end(int32_t stream_id, std::string_view trailer_lines) {
  auto found = streams_.find(stream_id);
  if (found != streams_.end()) found->second->on_request_end(trailer_lines);
}

void H2ClientConnection::on_stream_closed(int32_t stream_id, bool completed, uint32_t) {
  auto found = streams_.find(stream_id);
  if (found == streams_.end()) return;
  H2StreamExchange* stream = found->second;
  streams_.erase(found);
  // The session is ending and cancels every stream, one after the other.
  if (!completed && !streams_.empty() && (session_->ended_by() != http2::Defence::none || session_->finished())) {
    withdraw_waiting_streams();
  }
  context_.counters.h2_streams_active.sub();
  if (streams_.empty()) idle_since_ms_ = context_.loop.now_ms();
  stream->on_stream_closed(completed);
}

void H2ClientConnection::flush_request_bodies() {
  // By id: a stream may have ended during the batch, or end as an earlier one is pumped
  // (a slot it gives back). Index loop: nothing is added meanwhile, but stay safe if it is.
  for (size_t i = 0; i < body_flush_ids_.size(); ++i) {
    auto found = streams_.find(body_flush_ids_[i]);
    if (found != streams_.end()) found->second->flush_request_body();
  }
  body_flush_ids_.clear();
}

bool H2ClientConnection::answer_acme_challenge(int32_t stream_id, const http2::RequestHead& head) {
  const ProxyConfig& config = context_.config();
  if (!config.acme_challenges) return false;
  std::optional<std::string_view> token = http1::acme_challenge_token(head.target());
  if (!token) return false;
  std::optional<std::string_view> key_authorization = config.acme_challenges->find(*token);
  const uint16_t status = key_authorization ? 200 : 404;
  context_.counters.requests.add();
  context_.counters.h2_requests.add();
  context_.counters.count_response(status);
  // The bytes an HTTP/1.1 client gets, read back as a head and a body (one home for them).
  buffer::ByteBuffer bytes;
  bytes.attach_pool(&context_.buffers);
  http1::MessageHead& response = context_.scratch_head;
  const http1::Method method = head.is_head ? http1::Method::head : http1::Method::get;
  bool ok =
      http1::write_acme_challenge_response(key_authorization, head.is_head, false, false, bytes) &&
      http1::parse_response_head(bytes.data(), bytes.size(), config.limits.response_head, method, response).status ==
          http1::ParseStatus::done &&
      session_->submit_response_head(stream_id, response);
  if (ok) {
    std::string_view body = std::string_view(bytes.data(), bytes.size()).substr(response.head_bytes);
    if (response.body == http1::BodyKind::content_length) body = body.substr(0, response.content_length);
    session_->send_response_body(stream_id, {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
    session_->end_response(stream_id);
  } else {
    session_->reset_stream(stream_id, kInternalError);
  }
  bytes.release();
  flush();
  return true;
}

void H2ClientConnection::on_response_writable(int32_t stream_id) {
  auto found = streams_.find(stream_id);
  if (found != streams_.end()) found->second->on_response_writable();
}

}  // namespace lb::proxy
