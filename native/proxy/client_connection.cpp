// ClientConnection: lifetime, events, reading_head, connecting and exchanging. The
// tunneling state is in client_tunnel.cpp; responding and lingering_close in
// client_responses.cpp.
#include "proxy/client_connection.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "http1/canned_response.h"
#include "http1/head_writer.h"
#include "net/socket_address.h"
#include "proxy/backend_connection.h"
#include "proxy/body_splice.h"
#include "proxy/socket_io.h"
#include "proxy/tls_handshake_stats.h"
#include "proxy/worker_context.h"
#include "tls/alpn.h"

namespace lb::proxy {

using http1::BodyKind;
using http1::Method;
using http1::ParseStatus;

const char* to_string(ClientState state) {
  switch (state) {
    case ClientState::handshaking: return "handshaking";
    case ClientState::reading_head: return "reading_head";
    case ClientState::connecting: return "connecting";
    case ClientState::exchanging: return "exchanging";
    case ClientState::tunneling: return "tunneling";
    case ClientState::responding: return "responding";
    case ClientState::lingering_close: return "lingering_close";
    case ClientState::closed: return "closed";
  }
  return "unknown";
}

namespace {

bool has_header(const http1::MessageHead& head, std::string_view name) {
  for (uint32_t i = 0; i < head.header_count; ++i) {
    if (http1::equals_ignore_case(head.headers[i].name, name)) return true;
  }
  return false;
}

// Walks the not-yet-validated bytes of a chunked body, counting data bytes (limits count
// data, not framing). With `body.dechunk` (for a client that cannot read chunked framing)
// it also keeps only the chunk data, moved down to follow what was already validated,
// and drops the framing; bytes after the end of the body stay after the data. On a
// framing error, what was validated before the fault stays ready (a truncated response
// may still be flushed) and the bytes from the fault on are dropped.
bool walk_chunked(BodyProgress& body, buffer::ByteBuffer& buffer) {
  char* base = buffer.mutable_data();
  size_t size = buffer.size();
  size_t out = body.validated;  // end of what is ready to send
  size_t in = body.validated;   // next raw byte
  while (in < size && !body.complete) {
    uint64_t in_chunk = body.chunked.remaining_in_chunk();
    // Chunk data goes in one step; framing bytes one at a time, to see where data starts.
    size_t n = in_chunk > 0 ? static_cast<size_t>(std::min<uint64_t>(in_chunk, size - in)) : 1;
    auto step = body.chunked.feed(base + in, n);
    if (step.error != http1::ChunkedError::none) {
      buffer.drop_back(size - out);
      body.validated = static_cast<uint32_t>(out);
      return false;
    }
    if (in_chunk > 0) body.data_bytes += step.consumed;
    if (!body.dechunk || in_chunk > 0) {
      if (out != in) std::memmove(base + out, base + in, step.consumed);
      out += step.consumed;
    }
    in += step.consumed;
    if (step.done) body.complete = true;
  }
  if (in != out) {
    std::memmove(base + out, base + in, size - in);
    buffer.drop_back(in - out);
  }
  body.validated = static_cast<uint32_t>(out);
  return true;
}

// How many bytes at the front of `buffer` belong to the body being forwarded, validating
// chunked framing as it goes. Returns false on a framing error (`ready` then counts the
// bytes validated before it).
bool ready_body_bytes(BodyProgress& body, buffer::ByteBuffer& buffer, size_t& ready) {
  switch (body.kind) {
    case BodyKind::none: ready = 0; return true;
    case BodyKind::content_length:
      ready = static_cast<size_t>(std::min<uint64_t>(buffer.size(), body.remaining));
      return true;
    case BodyKind::until_close: ready = buffer.size(); return true;
    case BodyKind::chunked: {
      const bool ok = walk_chunked(body, buffer);
      ready = body.validated;
      return ok;
    }
  }
  ready = 0;
  return true;
}

// Records that `sent` bytes of the body left the buffer.
void body_bytes_sent(BodyProgress& body, size_t sent) {
  if (body.kind == BodyKind::content_length) {
    body.remaining -= sent;
    if (body.remaining == 0) body.complete = true;
  } else if (body.kind == BodyKind::chunked) {
    body.validated -= static_cast<uint32_t>(sent);
  }
}

bool body_fully_sent(const BodyProgress& body) {
  switch (body.kind) {
    case BodyKind::none: return true;
    case BodyKind::content_length: return body.remaining == 0;
    case BodyKind::chunked: return body.complete && body.validated == 0;
    case BodyKind::until_close: return false;  // ends only with the backend's EOF
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Lifetime

ClientConnection::ClientConnection(WorkerContext& context, reactor::UniqueFd fd)
    : context_(context),
      fd_(std::move(fd)),
      transport_(fd_.get()),
      timer_(this),
      upstream_side_(context, *this, *this) {
  in_.attach_pool(&context_.buffers);
  out_.attach_pool(&context_.buffers);
  req_head_.attach_pool(&context_.buffers);
  resp_.attach_pool(&context_.buffers);
}

ClientConnection::~ClientConnection() = default;

ClientConnection* ClientConnection::accept(WorkerContext& context, reactor::UniqueFd fd, const sockaddr_storage& peer,
                                           uint16_t listener_index, protection::ConnectionTicket ticket) {
  const ListenerTls& tls = context.listener(listener_index).tls;
  // A TLS listener without a certificate yet (ACME has not issued one): closed at once,
  // unless a TLS-ALPN-01 challenge is pending, which its handshake may be for.
  const auto& challenges = context.config().acme_alpn_challenges;
  if (tls.awaiting_certificate && (!tls.context || !challenges || challenges->empty())) return nullptr;
  auto* connection = new ClientConnection(context, std::move(fd));
  connection->listener_index_ = listener_index;
  connection->client_ticket = std::move(ticket);
  // sockaddr_in6 is large enough for either family; TCP_NODELAY came from the listener.
  std::memcpy(&connection->peer_, &peer, sizeof(connection->peer_));
  if (!context.adopt_client(connection, connection->fd_.get())) {
    delete connection;
    return nullptr;
  }
  if (tls.enabled()) {
    // The TLS stream (8 KiB of OpenSSL state) is made at the first readable edge: epoll
    // reports bytes that came with the connection at once, and a silent client costs
    // nothing but its socket until the handshake timeout.
    connection->state_ = ClientState::handshaking;
    connection->readable_ = false;
    connection->arm_timer(TimerKind::handshake);
    return connection;
  }
  connection->arm_timer(TimerKind::head);
  // Data often arrives with the connection (or right after): try at once, and rely on
  // the edge for the rest.
  connection->readable_ = true;
  connection->read_request_head();
  return connection;
}

#ifdef LB_STATE_CHECKS
namespace {
// The transitions the diagram in client_connection.h allows.
bool legal_transition(ClientState from, ClientState to) {
  if (to == ClientState::closed) return from != ClientState::closed;
  switch (from) {
    case ClientState::handshaking: return to == ClientState::reading_head || to == ClientState::responding;
    case ClientState::reading_head:
      return to == ClientState::connecting || to == ClientState::responding || to == ClientState::lingering_close;
    case ClientState::connecting:  // a retry connects again
      return to == ClientState::connecting || to == ClientState::exchanging || to == ClientState::responding;
    case ClientState::exchanging:  // a retry connects again, or takes a pooled connection
      return to == ClientState::reading_head || to == ClientState::connecting || to == ClientState::exchanging ||
             to == ClientState::tunneling || to == ClientState::responding || to == ClientState::lingering_close;
    case ClientState::tunneling: return false;
    case ClientState::responding: return to == ClientState::reading_head || to == ClientState::lingering_close;
    case ClientState::lingering_close: return false;
    case ClientState::closed: return false;
  }
  return false;
}
}  // namespace
#endif

void ClientConnection::enter(ClientState next) {
#ifdef LB_STATE_CHECKS
  // Sanitizer and debug builds stop at the first transition the state machine does not
  // have (CMakeLists.txt defines LB_STATE_CHECKS for them).
  if (!legal_transition(state_, next)) {
    std::fprintf(stderr, "ClientConnection: illegal transition %s -> %s\n", to_string(state_), to_string(next));
    std::abort();
  }
#endif
  state_ = next;
}

void ClientConnection::close() {
  if (state_ == ClientState::closed) return;
  release_pipes();
  release_backend(false);
  enter(ClientState::closed);
  context_.loop.timers().disarm(timer_);
  if (!reset_after_response_) transport_.close_notify();  // a reset must not look like a clean end
  transport_.release();
  // Unregistered before the close: a child process forked this instant (Node spawns from
  // its main thread) holds the socket until it execs, and the registration would outlive
  // our close and report events naming this handler after it is freed.
  context_.loop.remove(fd_.get());
  fd_.reset();
  closed_ = true;
  in_.release();
  out_.release();
  req_head_.release();
  resp_.release();
  release_exchange();
  context_.release_client(this);
}

void ClientConnection::drain() {
  if (state_ == ClientState::handshaking || (state_ == ClientState::reading_head && in_.empty())) {
    close();
  }
  // Otherwise the draining flag in the context makes the current response the last.
}

void ClientConnection::arm_timer(TimerKind kind) {
  const Timeouts& timeouts = context_.config().timeouts;
  timer_kind_ = kind;
  switch (kind) {
    case TimerKind::none: context_.loop.timers().disarm(timer_); return;
    case TimerKind::handshake:  // the head's time, given again once the handshake is done
    case TimerKind::head: context_.loop.timers().arm(timer_, timeouts.client_head_ms); return;
    case TimerKind::body: {
      // The per-read timeout, or what is left of the whole body's, whichever ends first.
      uint64_t delay = timeouts.client_body_ms;
      if (exchange_ && exchange_->body_deadline_ms != 0) {
        const uint64_t now = context_.loop.now_ms();
        const uint64_t left = exchange_->body_deadline_ms > now ? exchange_->body_deadline_ms - now : 0;
        delay = std::min(delay, left);
      }
      context_.loop.timers().arm(timer_, delay);
      return;
    }
    case TimerKind::tunnel_idle: context_.loop.timers().arm(timer_, timeouts.tunnel_idle_ms); return;
    case TimerKind::keep_alive: context_.loop.timers().arm(timer_, timeouts.keep_alive_ms); return;
    case TimerKind::lingering: context_.loop.timers().arm(timer_, timeouts.lingering_close_ms); return;
  }
}

// ---------------------------------------------------------------------------------------
// Events

void ClientConnection::on_events(uint32_t events) {
  events = transport_.map_events(events);
  if (events & EPOLLIN) readable_ = true;
  if (events & EPOLLOUT) writable_ = true;
  if (events & (EPOLLRDHUP | EPOLLHUP)) {
    // The peer's FIN (HUP: both directions are shut, e.g. in a tunnel whose other side we
    // already shut) is read like data, after whatever bytes came before it.
    peer_closed_ = true;
    readable_ = true;
  }
  if (events & EPOLLERR) {
    // A reset: nobody is left to answer.
    close();
    return;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP)) && (state_ == ClientState::connecting || state_ == ClientState::exchanging) &&
      (exchange_->request_phase == RequestPhase::done || exchange_->queued)) {
    // The client closed while its request is being answered (nginx's 499): stop the
    // backend's work rather than finish it for nobody. Its connection is not pooled.
    // A request still waiting for a backend slot (its body unread) leaves the queue the
    // same way, so it never takes a slot or reaches the backend.
    close();
    return;
  }
  switch (state_) {
    case ClientState::handshaking: continue_handshake(); return;
    case ClientState::reading_head: read_request_head(); return;
    case ClientState::connecting: return;  // nothing to do until the backend answers
    case ClientState::exchanging: pump(); return;
    case ClientState::tunneling: pump_tunnel(); return;
    case ClientState::responding: flush_local_response(); return;
    case ClientState::lingering_close: discard_input(); return;
    case ClientState::closed: return;
  }
}

void ClientConnection::on_timer(reactor::Timer&) {
  switch (timer_kind_) {
    case TimerKind::handshake:
      // A client that connected and went quiet, or stopped mid-handshake.
      context_.counters.tls.count_failure(stats::TlsHandshakeFailure::timeout);
      close();
      return;
    case TimerKind::head:
      // Slowloris or a client that went quiet mid-head.
      if (state_ == ClientState::reading_head) {
        if (in_.empty()) {
          close();
        } else {
          fail(Outcome::client_timeout);
        }
      }
      return;
    case TimerKind::body:
      // The client stopped sending its body, or sends it too slowly to finish in time:
      // the backend is waiting for bytes that will not come (soon enough).
      if (exchange_) {
        fail(Outcome::client_timeout);
      } else {
        close();
      }
      return;
    case TimerKind::keep_alive:
    case TimerKind::tunnel_idle:
    case TimerKind::lingering: close(); return;
    case TimerKind::none: return;
  }
}

// ---------------------------------------------------------------------------------------
// handshaking

void ClientConnection::continue_handshake() {
  if (!transport_.is_tls()) {
    if (!readable_) return;  // a writable edge alone says nothing yet
    // No context: a TLS listener still waiting for its first certificate (ACME).
    const ListenerTls& tls = context_.listener(listener_index_).tls;
    if (!tls.context ||
        !transport_.start_tls(tls.context, &context_.ticket_keys, context_.config().acme_alpn_challenges)) {
      close();
      return;
    }
  }
  switch (transport_.handshake()) {
    case tls::HandshakeStatus::done: {
      // The listener's context now: the one this handshake used unless a reload has just
      // swapped it (or, for a listener made plain, dropped it); only its kTLS flags are read.
      const ListenerTls& listener_tls = context_.listener(listener_index_).tls;
      const tls::TlsServerContext* server = listener_tls.context.get();
      count_established(*transport_.tls(), server && server->ktls_requested(),
                        server ? server->ktls_support() : tls::KtlsSupport{}, context_.counters.tls);
      // RFC 8737: the validator has seen the challenge certificate, and no data follows.
      // A listener still waiting for its first certificate serves nothing else (a client
      // resuming a session from another listener would otherwise get through).
      if (transport_.tls()->alpn() == tls::acme_tls_protocol || listener_tls.awaiting_certificate) {
        close();
        return;
      }
      if (!listener_tls.client_subject_header.empty()) client_subject_ = transport_.tls()->peer_subject();
      if (transport_.tls()->alpn() == "h2") {  // offered only while HTTP/2 is on (balancer_object.cpp)
        hand_off_to_http2();
        return;
      }
      enter(ClientState::reading_head);
      arm_timer(TimerKind::head);
      // The request often travels with the client's last handshake flight.
      readable_ = true;
      read_request_head();
      return;
    }
    case tls::HandshakeStatus::want_read: readable_ = false; return;
    case tls::HandshakeStatus::want_write: writable_ = false; return;
    case tls::HandshakeStatus::failed: break;
  }
  context_.counters.tls.count_failure(failure_kind_of(transport_.tls()->failure()));
  if (transport_.tls()->failure() == tls::HandshakeFailure::http_request) {
    answer_plain_http_on_tls_port();
    return;
  }
  close();  // garbage, no common ground, or the client left: nobody to answer in TLS
}

// ---------------------------------------------------------------------------------------
// reading_head

void ClientConnection::read_request_head() {
  const http1::HeadLimits& limits = context_.config().limits.request_head;
  for (;;) {
    // h2c with prior knowledge (client_h2_handoff.cpp): the preface decides.
    const H2cPreface preface = in_.empty() || spoke_http1_ ? H2cPreface::none : h2c_preface();
    if (preface == H2cPreface::complete) {
      hand_off_to_http2();
      return;
    }
    if (!in_.empty() && preface == H2cPreface::none) {
      auto scan = http1::scan_head_end(in_.data(), in_.size(), head_scan_from_);
      head_scan_from_ = static_cast<uint32_t>(scan.next_from);
      bool buffer_full = in_.write_space() == 0;
      bool head_over = in_.size() > limits.max_head_bytes;
      bool parse_now = scan.head_length > 0 || scan.bare_lf || buffer_full || head_over;
      if (!parse_now) {
        // The head is incomplete, but its request line may already be wrong (no version,
        // garbage, a TLS ClientHello, over the start-line limit): answer now rather than
        // at the head timeout. Each byte is looked at once, whatever the read sizes.
        auto line = http1::check_request_line(in_.data(), in_.size(), limits, line_check_, context_.scratch_head);
        if (line.status == ParseStatus::error) {
          fail(outcome_of_request_status(http1::to_status(line.error)));
          return;
        }
      }
      // Parse once the head is complete, or as soon as a limit may have been crossed,
      // never per read.
      if (parse_now) {
        http1::MessageHead& head = context_.scratch_head;
        size_t length = scan.head_length > 0 ? scan.head_length : in_.size();
        auto result = http1::parse_request_head(in_.data(), length, limits, head);
        if (result.status == ParseStatus::done) {
          spoke_http1_ = true;
          start_exchange(head);
          return;
        }
        if (result.status == ParseStatus::error) {
          fail(outcome_of_request_status(http1::to_status(result.error)));
          return;
        }
        if (buffer_full) {
          // Limits larger than a buffer still stop at a buffer.
          fail(Outcome::head_too_large);
          return;
        }
      }
      if (timer_kind_ == TimerKind::keep_alive) arm_timer(TimerKind::head);
    }
    if (!readable_) break;
    char* into = in_.write_ptr();
    size_t space = in_.contiguous_write_space();
    IoResult io = transport_.read(into, space);
    if (io.status == IoStatus::progress) {
      in_.commit(io.bytes);
      context_.counters.bytes_from_clients.add(io.bytes);
      // A short read drained the socket, unless a FIN came with the data: then the EOF
      // must still be read, and no new edge will announce it.
      if (io.bytes < space && !peer_closed_ && transport_.short_read_drains()) readable_ = false;
      continue;
    }
    if (io.status == IoStatus::would_block) {
      readable_ = false;
      break;
    }
    // EOF or error before a complete head: nothing to answer.
    close();
    return;
  }
  in_.release_if_empty();
}

void ClientConnection::start_exchange(const http1::MessageHead& head) {
  const ProxyConfig& config = context_.config();
  if (!exchange_) exchange_ = upstream_side_.open_exchange();
  exchange_->method = head.method;
  exchange_->request_version_minor = head.version_minor;
  exchange_->client_wants_close = head.connection_close || (head.version_minor == 0 && !head.connection_keep_alive);
  exchange_->client_keep_alive_10 = head.version_minor == 0 && head.connection_keep_alive;
  exchange_->retryable = is_idempotent(head.method) && head.body == BodyKind::none;
  exchange_->upgrade_requested = head.version_minor == 1 && head.connection_upgrade && head.has_upgrade_header;
  exchange_->started_us = context_.loop.now_us();
  upstream_side_.compute_pick_inputs(head, reinterpret_cast<const sockaddr*>(&peer_));
  if (context_.sample_access_log()) {
    upstream_side_.start_access_record(head, reinterpret_cast<const sockaddr*>(&peer_), sizeof(peer_));
  }
  context_.counters.requests.add();

  if (head.method == Method::connect) {
    fail(Outcome::method_not_allowed);
    return;
  }
  if (config.limits.max_body_bytes > 0 && head.body == BodyKind::content_length &&
      head.content_length > config.limits.max_body_bytes) {
    fail(Outcome::body_too_large);
    return;
  }

  if (http1::refuses_header_names(head, config.headers)) {
    fail(Outcome::bad_request);
    return;
  }
  if (uint64_t wait_ms = context_.edge.check_request(config.protection, head, reinterpret_cast<const sockaddr*>(&peer_),
                                                     context_.loop.now_ms())) {
    refuse_over_rate(head, wait_ms);
    return;
  }

  char client_ip[INET6_ADDRSTRLEN] = {};
  size_t ip_length = 0;
  if (config.forwarded.mode != http1::ForwardedPolicy::Mode::none) {
    net::SocketAddress peer;
    std::memcpy(&peer.storage, &peer_, sizeof(peer_));
    ip_length = peer.format_host(client_ip, sizeof(client_ip));
  }
  if (config.acme_challenges && answer_acme_challenge(head)) return;
  const ListenerPolicy& listener = context_.listener(listener_index_);
  if (listener.https_redirect.enabled && !transport_.is_tls()) {
    answer_https_redirect(head);
    return;
  }
  if (config.mode == ProxyMode::redirect) {
    answer_redirect(head);
    return;
  }

  http1::RequestHeadOptions options;
  options.forwarded = config.forwarded;
  options.headers = config.headers;
  options.client_ip = {client_ip, ip_length};
  options.upgrade = exchange_->upgrade_requested;
  options.proto = transport_.is_tls() ? "https" : "http";
  options.client_subject_header = listener.tls.client_subject_header;
  options.client_subject = client_subject_;
  req_head_.clear();
  if (!http1::write_request_head(head, options, req_head_)) {
    fail(Outcome::head_too_large);
    return;
  }
  in_.consume(head.head_bytes);
  head_scan_from_ = 0;
  line_check_ = {};
  exchange_->request_body.start(head.body, head.content_length);
  // A body still to come is timed from now, whether or not its first bytes came along:
  // each read, and the whole of it.
  if (!exchange_->request_body.complete && config.timeouts.client_body_total_ms > 0) {
    exchange_->body_deadline_ms = context_.loop.now_ms() + config.timeouts.client_body_total_ms;
  }
  arm_timer(exchange_->request_body.complete ? TimerKind::none : TimerKind::body);
  enter(ClientState::connecting);
  context_.upstream.on_request();  // its share of a retry, once per request
  upstream_side_.acquire_backend();
}

// ---------------------------------------------------------------------------------------
// connecting: what the upstream side reports (proxy/upstream_exchange.h)

void ClientConnection::on_upstream_ready() {
  enter(ClientState::exchanging);
  pump();
}

void ClientConnection::on_upstream_connecting() { enter(ClientState::connecting); }

void ClientConnection::on_upstream_failed(Outcome outcome) { fail(outcome); }

void ClientConnection::on_backend_connected() { upstream_side_.on_connected(); }

void ClientConnection::on_backend_connect_failed(int error) { upstream_side_.on_connect_failed(error); }

// ---------------------------------------------------------------------------------------
// exchanging

void ClientConnection::pump() {
  // Move bytes both ways until neither direction can progress; each step either moves
  // bytes, changes the state, or waits for an edge.
  for (;;) {
    if (state_ != ClientState::exchanging) return;
    bool moved = forward_request();
    if (state_ != ClientState::exchanging) return;
    moved = forward_response() || moved;
    if (state_ != ClientState::exchanging) return;
    if (exchange_->response_phase == ResponsePhase::done) {
      finish_exchange();
      return;
    }
    if (!moved) return;
  }
}

bool ClientConnection::forward_request() {
  if (exchange_->request_phase == RequestPhase::done) return false;
  BodyProgress& body = exchange_->request_body;
  bool moved = false;

  if (!request_pipe_ && wants_request_splice()) request_pipe_ = context_.pipes.take();
  if (request_pipe_) {
    if (!splice_request_body(moved)) return false;
  } else if (!body.complete && body.kind != BodyKind::none && readable_ && in_.write_space() > 0) {
    // Pull more body bytes from the client while the body is incomplete and there is room.
    char* into = in_.write_ptr();
    size_t space = in_.contiguous_write_space();
    IoResult io = transport_.read(into, space);
    if (io.status == IoStatus::progress) {
      in_.commit(io.bytes);
      context_.counters.bytes_from_clients.add(io.bytes);
      if (io.bytes < space && !peer_closed_ && transport_.short_read_drains()) readable_ = false;
      arm_timer(TimerKind::body);
      moved = true;
    } else if (io.status == IoStatus::would_block) {
      readable_ = false;
      if (timer_kind_ != TimerKind::body) arm_timer(TimerKind::body);
    } else {
      // The client went away mid-body: the backend would wait forever for the rest.
      close();
      return false;
    }
  }

  size_t ready = 0;
  if (!ready_body_bytes(body, in_, ready)) {
    fail(Outcome::bad_request);
    return false;
  }
  uint64_t max_body = context_.config().limits.max_body_bytes;
  if (max_body > 0 && body.kind == BodyKind::chunked && body.data_bytes > max_body) {
    // A chunked body has no announced size, so the limit is enforced as it streams.
    fail(Outcome::body_too_large);
    return false;
  }

  const size_t body_sent = upstream_side_.send_request(req_head_, {in_.data(), ready}, moved);
  if (body_sent > 0) {
    in_.consume(body_sent);
    body_bytes_sent(body, body_sent);
    exchange_->retryable = false;  // body bytes are gone: never replay
  }

  if (!request_pipe_ && exchange_->request_head_sent == req_head_.size()) stream_through_large_block(in_, body);

  if (exchange_->request_head_sent == req_head_.size() && body_fully_sent(body)) {
    exchange_->request_phase = RequestPhase::done;
    count_body_path(body);
    if (timer_kind_ == TimerKind::body) arm_timer(TimerKind::none);
    upstream_side_.backend()->arm_response_timer();
    moved = true;
  }
  return moved;
}

bool ClientConnection::forward_response() {
  bool moved = false;
  BackendConnection& backend = *upstream_side_.backend();

  // A response's first read goes into a stream block while there are some to spare: a
  // head with a 16 KiB body then arrives in one read and leaves in one write (a 16 KiB
  // block took two of each). Released with the exchange, so idle connections hold none.
  if (exchange_->response_phase == ResponsePhase::awaiting_head && !resp_.has_block() &&
      context_.stream_buffers.blocks_in_use() < WorkerContext::kMaxStreamBlocks) {
    resp_.use_pool(&context_.stream_buffers);
  }
  if (!response_pipe_ && wants_response_splice()) response_pipe_ = context_.pipes.take();
  if (response_pipe_) {
    if (!splice_response_body(moved)) return false;
  } else if (upstream_side_.receive_response(resp_, moved)) {
    // Read while there is room (a full buffer is the backpressure: the backend's bytes
    // wait in the kernel until the client reads). After its first bytes no replay.
    exchange_->retryable = false;
    if (exchange_->request_head_sent == req_head_.size()) {
      req_head_.release();
      exchange_->request_head_sent = 0;
    }
  }

  if (exchange_->response_phase == ResponsePhase::awaiting_head && !resp_.empty()) {
    // need_more is not progress: the bytes that arrived were already counted as such.
    HeadOutcome outcome = parse_response_head();
    if (outcome == HeadOutcome::left_exchange) return false;
    if (outcome == HeadOutcome::parsed) moved = true;
  }

  size_t ready = 0;
  if (exchange_->response_phase == ResponsePhase::body) {
    if (!ready_body_bytes(exchange_->response_body, resp_, ready)) {
      // The backend broke chunked framing mid-body: the bytes validated before the fault
      // are still the client's.
      backend.failed = true;
      fail(Outcome::bad_response, ready);
      return false;
    }
  }

  if ((!out_.empty() || ready > 0) && writable_) {
    iovec parts[2];
    int count = 0;
    size_t head_part = out_.size();
    if (head_part > 0) parts[count++] = {const_cast<char*>(out_.data()), head_part};
    if (ready > 0) parts[count++] = {const_cast<char*>(resp_.data()), ready};
    IoResult io = transport_.write(parts, count);
    if (io.status == IoStatus::progress) {
      size_t sent = io.bytes;
      size_t from_out = std::min(sent, head_part);
      out_.consume(from_out);
      size_t from_resp = sent - from_out;
      if (from_resp > 0) {
        resp_.consume(from_resp);
        body_bytes_sent(exchange_->response_body, from_resp);
        ready -= from_resp;
      }
      if (sent > 0) exchange_->response_started = true;
      exchange_->response_bytes += sent;
      context_.counters.bytes_to_clients.add(sent);
      if (sent < head_part + ready) writable_ = false;
      moved = moved || sent > 0;
    } else if (io.status == IoStatus::would_block) {
      writable_ = false;
    } else {
      close();  // the client went away
      return false;
    }
  }

  if (exchange_->response_phase == ResponsePhase::body && !response_pipe_) {
    stream_through_large_block(resp_, exchange_->response_body);
  }

  if (exchange_->response_phase == ResponsePhase::body && out_.empty()) {
    const BodyProgress& body = exchange_->response_body;
    // A close-delimited body ends with the backend's clean close only: a reset (failed)
    // cuts it, and the client must be told so (fail() below), not given a clean end.
    bool until_close_done = body.kind == BodyKind::until_close && backend.peer_closed && !backend.failed &&
                            !backend.readable && resp_.empty();
    if (until_close_done || (body.kind != BodyKind::until_close && body_fully_sent(body))) {
      exchange_->response_phase = ResponsePhase::done;
      count_body_path(body);
      backend.disarm_timer();
      return true;
    }
  }

  // The backend is gone (or failed) and the response cannot complete.
  bool backend_gone = backend.failed || (backend.peer_closed && !backend.readable);
  if (backend_gone && response_pipe_) return moved;  // body bytes in the pipe go out first
  if (backend_gone && exchange_->response_phase != ResponsePhase::done) {
    if (exchange_->response_phase == ResponsePhase::body && exchange_->response_body.kind == BodyKind::until_close &&
        !backend.failed) {
      return moved;  // still flushing what we have; the check above ends it
    }
    if (!exchange_->response_started && out_.empty() && try_replay()) return true;
    fail(Outcome::backend_failed, ready);
    return false;
  }
  return moved;
}

// ---------------------------------------------------------------------------------------
// exchanging: bodies by splice(2)

// TLS bytes (a TLS client's, or a TLS backend's) must pass through OpenSSL, so only
// plain sockets at both ends splice.
bool ClientConnection::may_splice() const {
  return !transport_.is_tls() && !upstream_side_.backend()->is_tls() && context_.config().bodies.splice_min_bytes > 0;
}

bool ClientConnection::wants_request_splice() const {
  // Only once the re-written head and every body byte read along with it are gone, so
  // the pipe carries the body's next bytes; never past its end (a pipelined request).
  const BodyProgress& body = exchange_->request_body;
  return body.kind == BodyKind::content_length && !body.complete && readable_ && in_.empty() &&
         exchange_->request_head_sent == req_head_.size() && may_splice() &&
         body.remaining >= context_.config().bodies.splice_min_bytes;
}

bool ClientConnection::wants_response_splice() const {
  // Only after the response head (in out_) and the body bytes read with it are written.
  const BodyProgress& body = exchange_->response_body;
  return exchange_->response_phase == ResponsePhase::body && body.kind == BodyKind::content_length && !body.complete &&
         upstream_side_.backend()->readable && !upstream_side_.backend()->failed && resp_.empty() && out_.empty() &&
         may_splice() && body.remaining >= context_.config().bodies.splice_min_bytes;
}

bool ClientConnection::splice_request_body(bool& moved) {
  BodyProgress& body = exchange_->request_body;
  SplicePipe& pipe = *request_pipe_;
  SpliceStep step = splice_body_step(pipe, fd_.get(), readable_, body.remaining - pipe.held,
                                     upstream_side_.backend()->fd(), upstream_side_.backend()->writable);
  if (step.in > 0) {
    context_.counters.bytes_from_clients.add(step.in);
    arm_timer(TimerKind::body);
    moved = true;
  } else if (!readable_ && timer_kind_ != TimerKind::body) {
    arm_timer(TimerKind::body);
  }
  if (step.out > 0) {
    body_bytes_sent(body, step.out);
    body.spliced = true;
    exchange_->retryable = false;  // body bytes are gone: never replay
    upstream_side_.backend()->backend().counters->bytes_to_backend.add(step.out);
    context_.counters.body_bytes_spliced.add(step.out);
    moved = true;
  }
  if (step.source_eof || step.source_failed) {
    // The client went away mid-body: the backend would wait forever for the rest.
    close();
    return false;
  }
  if (step.sink_failed) upstream_side_.backend()->failed = true;
  if (pipe.held == 0) {
    context_.pipes.give(request_pipe_);
    request_pipe_ = nullptr;
  }
  return true;
}

bool ClientConnection::splice_response_body(bool& moved) {
  BackendConnection& backend = *upstream_side_.backend();
  BodyProgress& body = exchange_->response_body;
  SplicePipe& pipe = *response_pipe_;
  SpliceStep step =
      splice_body_step(pipe, backend.fd(), backend.readable, body.remaining - pipe.held, fd_.get(), writable_);
  if (step.in > 0) {
    backend.backend().counters->bytes_from_backend.add(step.in);
    if (exchange_->request_phase == RequestPhase::done) backend.arm_response_timer();
    moved = true;
  }
  if (step.source_eof) backend.peer_closed = true;
  if (step.source_failed) backend.failed = true;
  if (step.out > 0) {
    body_bytes_sent(body, step.out);
    body.spliced = true;
    exchange_->response_started = true;
    exchange_->response_bytes += step.out;
    context_.counters.bytes_to_clients.add(step.out);
    context_.counters.body_bytes_spliced.add(step.out);
    moved = true;
  }
  if (step.sink_failed) {
    close();  // the client went away
    return false;
  }
  if (pipe.held == 0) {
    context_.pipes.give(response_pipe_);
    response_pipe_ = nullptr;
  }
  return true;
}

void ClientConnection::release_pipes() {
  // A pipe still holding bytes is closed by the pool: they belonged to this exchange.
  context_.pipes.give(request_pipe_);
  request_pipe_ = nullptr;
  context_.pipes.give(response_pipe_);
  response_pipe_ = nullptr;
}

void ClientConnection::stream_through_large_block(buffer::ByteBuffer& buffer, const BodyProgress& body) {
  if (!buffer.empty() || body.complete || buffer.uses_pool(&context_.stream_buffers)) return;
  const bool long_body = body.kind == BodyKind::chunked || body.kind == BodyKind::until_close ||
                         (body.kind == BodyKind::content_length && body.remaining > buffer.capacity());
  if (!long_body || context_.stream_buffers.blocks_in_use() >= WorkerContext::kMaxStreamBlocks) return;
  buffer.release();
  buffer.use_pool(&context_.stream_buffers);
}

void ClientConnection::count_body_path(const BodyProgress& body) {
  if (body.spliced) {
    context_.counters.bodies_spliced.add();
  } else if (body.has_bytes) {
    context_.counters.bodies_copied.add();
  }
}

ClientConnection::HeadOutcome ClientConnection::parse_response_head() {
  auto scan = http1::scan_head_end(resp_.data(), resp_.size(), exchange_->response_scan_from);
  exchange_->response_scan_from = static_cast<uint32_t>(scan.next_from);
  const http1::HeadLimits& limits = context_.config().limits.response_head;
  bool buffer_full = resp_.write_space() == 0;
  if (scan.head_length == 0 && !scan.bare_lf && !buffer_full) return HeadOutcome::need_more;

  http1::MessageHead& head = context_.scratch_head;
  size_t length = scan.head_length > 0 ? scan.head_length : resp_.size();
  auto result = http1::parse_response_head(resp_.data(), length, limits, exchange_->method, head);
  if (result.status != ParseStatus::done) {
    // Malformed, ambiguous or too large: the backend is not to be trusted with another
    // request, and the client gets a clean 502.
    return refuse_response();
  }

  if (head.status >= 100 && head.status < 200) {
    if (head.status == 101) {
      if (!exchange_->upgrade_requested || exchange_->request_phase != RequestPhase::done) {
        // Switching protocols nobody asked for (or mid-body) is a backend error.
        return refuse_response();
      }
      http1::ResponseHeadOptions options;
      options.upgrade = true;
      if (!http1::write_response_head(head, options, out_)) {
        return refuse_response();
      }
      resp_.consume(head.head_bytes);
      exchange_->status = 101;
      upstream_side_.count_response(101);
      enter_tunnel();
      return HeadOutcome::left_exchange;
    }
    // Interim response (100 Continue, 103 Early Hints): pass it on, then wait for the
    // final one.
    http1::ResponseHeadOptions options;
    if (!http1::write_response_head(head, options, out_)) {
      return refuse_response();
    }
    resp_.consume(head.head_bytes);
    exchange_->response_scan_from = 0;
    return HeadOutcome::parsed;
  }

  exchange_->status = head.status;
  exchange_->backend_keep_alive = !head.connection_close && (head.version_minor == 1 || head.connection_keep_alive);
  // An HTTP/1.0 client cannot read chunked framing (a backend should not have sent it):
  // strip it and end the body with a close.
  bool dechunk = head.body == BodyKind::chunked && exchange_->request_version_minor == 0;
  exchange_->close_client = exchange_->client_wants_close || context_.draining() ||
                            head.body == BodyKind::until_close || dechunk ||
                            exchange_->request_phase != RequestPhase::done;
  http1::ResponseHeadOptions options;
  options.close_client = exchange_->close_client;
  options.client_keep_alive_10 = !exchange_->close_client && exchange_->client_keep_alive_10;
  options.omit_framing = dechunk;
  upstream::UpstreamBackend& runtime = upstream_side_.backend()->backend();
  const ProxyConfig& config = context_.config();
  upstream_side_.note_response_head(head.status);
  // Headers of ours: the sticky cookie, HSTS on TLS connections.
  char extra[256];
  size_t extra_length = 0;
  if (upstream_side_.wants_sticky_cookie()) {
    // New client, or its backend went away: pin it to the one that answered.
    int n = std::snprintf(extra, sizeof(extra), "Set-Cookie: %.64s=%016llx; Path=/; HttpOnly\r\n",
                          config.cookie_name.c_str(), static_cast<unsigned long long>(runtime.identity));
    if (n > 0 && static_cast<size_t>(n) < sizeof(extra)) extra_length = static_cast<size_t>(n);
  }
  const std::string& hsts = context_.listener(listener_index_).tls.hsts;
  if (transport_.is_tls() && !hsts.empty() && !has_header(head, "strict-transport-security")) {
    int n = std::snprintf(extra + extra_length, sizeof(extra) - extra_length, "Strict-Transport-Security: %.96s\r\n",
                          hsts.c_str());
    if (n > 0 && static_cast<size_t>(n) < sizeof(extra) - extra_length) extra_length += static_cast<size_t>(n);
  }
  if (extra_length > 0) options.extra_header = {extra, extra_length};
  if (!http1::write_response_head(head, options, out_)) {
    return refuse_response();
  }
  resp_.consume(head.head_bytes);
  exchange_->response_body.start(head.body, head.content_length);
  exchange_->response_body.dechunk = dechunk;
  exchange_->response_phase = ResponsePhase::body;
  upstream_side_.count_response(head.status);
  return HeadOutcome::parsed;
}

ClientConnection::HeadOutcome ClientConnection::refuse_response() {
  // A response head we cannot pass on: the client gets a clean 502 and the backend
  // connection is closed, never pooled.
  fail(Outcome::bad_response);
  return HeadOutcome::left_exchange;
}

bool ClientConnection::try_replay() {
  if (!upstream_side_.may_replay()) return false;
  release_pipes();  // they move bytes between this client and this backend only
  resp_.clear();
  upstream_side_.replay();
  return true;
}

bool ClientConnection::backend_may_be_pooled() const {
  // Every reason not to reuse a backend connection: the upstream side's, then the
  // bytes this connection holds or left in the socket.
  if (!upstream_side_.backend_may_be_pooled()) return false;
  if (!resp_.empty()) return false;  // unsolicited bytes after the response
  // A spliced body took exactly its own bytes: anything after it is still in the socket.
  if (exchange_->response_body.spliced && input_pending(upstream_side_.backend()->fd())) return false;
  return true;
}

void ClientConnection::release_backend(bool reusable) {
  // Pipes move bytes between this client and this backend only.
  release_pipes();
  upstream_side_.release_backend(reusable);
}

bool ClientConnection::request_body_unread() const {
  // A body whose last byte has not been taken from the client: answered early (by the
  // backend, or with an error of our own), the client may still be sending it. Before the
  // head is consumed (errors found in the head) the body has not started: `complete` is
  // false then too, and the head bytes still in the buffer say the same.
  return exchange_ != nullptr && !exchange_->request_body.complete;
}

void ClientConnection::release_exchange() {
  upstream_side_.close_exchange();
  exchange_ = nullptr;
}

void ClientConnection::finish_exchange() {
  upstream_side_.record_total_time();
  release_backend(upstream_side_.backend() && backend_may_be_pooled());
  resp_.clear();
  resp_.release();
  req_head_.release();
  out_.release_if_empty();
  bool request_consumed = exchange_->request_phase == RequestPhase::done;
  bool request_unread = request_body_unread();
  bool close_client = exchange_->close_client;
  release_exchange();
  if (close_client || !request_consumed || context_.draining()) {
    begin_lingering_close(request_unread);
    return;
  }
  enter(ClientState::reading_head);
  arm_timer(in_.empty() ? TimerKind::keep_alive : TimerKind::head);
  // A pipelined request may already be waiting in the buffer.
  read_request_head();
}

void ClientConnection::on_backend_io() {
  if (state_ == ClientState::exchanging) {
    pump();
  } else if (state_ == ClientState::tunneling) {
    pump_tunnel();
  }
}

void ClientConnection::on_backend_timeout() {
  if (state_ == ClientState::tunneling) return;  // the tunnel has its own idle timer
  fail(Outcome::response_timeout);
}

}  // namespace lb::proxy
