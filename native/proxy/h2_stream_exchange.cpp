#include "proxy/h2_stream_exchange.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "http1/canned_response.h"
#include "http1/head_writer.h"
#include "net/socket_address.h"
#include "protection/limit_response.h"
#include "proxy/backend_connection.h"
#include "proxy/h2_client_connection.h"
#include "proxy/socket_io.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

using http1::BodyKind;
using http1::Method;
using http1::ParseStatus;

namespace {

// Request body bytes held for the backend before the client's window is given back: the
// per-stream memory is this plus the stream window.
constexpr size_t kRequestCreditLowWater = 16 * 1024;
// NGHTTP2_INTERNAL_ERROR: the stream is reset when its response cannot be completed.
constexpr uint32_t kInternalError = 0x2;
// Interim responses (1xx) relayed on one stream at the most.
constexpr uint32_t kMaxInterimResponses = 8;

bool has_header(const http1::MessageHead& head, std::string_view name) {
  for (uint32_t i = 0; i < head.header_count; ++i) {
    if (http1::equals_ignore_case(head.headers[i].name, name)) return true;
  }
  return false;
}

void add_header(http1::MessageHead& head, std::string_view name, std::string_view value) {
  if (head.header_count >= http1::kMaxHeaderFields) return;
  head.headers[head.header_count++] = http1::HeaderField{name, value, false};
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The trailer fields of a chunked body, from the framing that followed its last data:
// [CRLF] last-chunk line, trailer lines, CRLF (already validated by the decoder).
std::vector<http1::HeaderField> parse_trailers(std::string_view framing) {
  std::vector<http1::HeaderField> fields;
  if (framing.starts_with("\r\n")) framing.remove_prefix(2);
  size_t line_end = framing.find("\r\n");
  if (line_end == std::string_view::npos) return fields;
  framing.remove_prefix(line_end + 2);
  while (!framing.empty()) {
    line_end = framing.find("\r\n");
    if (line_end == std::string_view::npos || line_end == 0) break;
    std::string_view line = framing.substr(0, line_end);
    framing.remove_prefix(line_end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    fields.push_back(http1::HeaderField{line.substr(0, colon), trim(line.substr(colon + 1)), false});
  }
  return fields;
}

}  // namespace

const char* to_string(H2StreamState state) {
  switch (state) {
    case H2StreamState::receiving: return "receiving";
    case H2StreamState::connecting: return "connecting";
    case H2StreamState::exchanging: return "exchanging";
    case H2StreamState::finished: return "finished";
    case H2StreamState::cancelled: return "cancelled";
  }
  return "unknown";
}

H2StreamExchange::H2StreamExchange(H2ClientConnection& connection, int32_t stream_id)
    : connection_(connection),
      context_(connection.context()),
      stream_id_(stream_id),
      upstream_side_(connection.context(), *this, *this) {
  req_head_.attach_pool(&context_.buffers);
  resp_.attach_pool(&context_.buffers);
}

H2StreamExchange::~H2StreamExchange() = default;

void H2StreamExchange::enter(H2StreamState next) {
#ifdef LB_STATE_CHECKS
  bool legal = false;
  switch (state_) {
    case H2StreamState::receiving: legal = next != H2StreamState::receiving && next != H2StreamState::exchanging; break;
    case H2StreamState::connecting:
      legal = next == H2StreamState::connecting || next == H2StreamState::exchanging ||
              next == H2StreamState::finished || next == H2StreamState::cancelled;
      break;
    case H2StreamState::exchanging: legal = next != H2StreamState::receiving; break;
    case H2StreamState::finished: legal = next == H2StreamState::cancelled; break;
    case H2StreamState::cancelled: legal = false; break;
  }
  if (!legal) {
    std::fprintf(stderr, "H2StreamExchange: illegal transition %s -> %s\n", to_string(state_), to_string(next));
    std::abort();
  }
#endif
  state_ = next;
}

// ---------------------------------------------------------------------------------------
// receiving: the request head

void H2StreamExchange::start(const http2::RequestHead& request) {
  const ProxyConfig& config = context_.config();
  exchange_ = upstream_side_.open_exchange();
  context_.counters.requests.add();
  context_.counters.h2_requests.add();
  exchange_->started_us = context_.loop.now_us();
  request_ended_ = !request.has_body;
  body_started_ms_ = last_body_byte_ms_ = context_.loop.now_ms();

  // The translated head goes through the parser every HTTP/1.1 request goes through.
  http1::MessageHead& head = context_.scratch_head;
  auto parsed = http1::parse_request_head(request.http1.data(), request.http1.size(), config.limits.request_head, head);
  if (parsed.status != ParseStatus::done) {
    fail(parsed.status == ParseStatus::error ? outcome_of_request_status(http1::to_status(parsed.error))
                                             : Outcome::head_too_large);
    return;
  }
  exchange_->method = head.method;
  exchange_->retryable = is_idempotent(head.method) && !request.has_body;
  const sockaddr* peer = reinterpret_cast<const sockaddr*>(&connection_.peer());
  upstream_side_.compute_pick_inputs(head, peer);
  if (context_.sample_access_log()) upstream_side_.start_access_record(head, peer, sizeof(connection_.peer()));

  if (config.limits.max_body_bytes > 0 && head.body == BodyKind::content_length &&
      head.content_length > config.limits.max_body_bytes) {
    fail(Outcome::body_too_large);
    return;
  }
  if (http1::refuses_header_names(head, config.headers)) {
    fail(Outcome::bad_request);
    return;
  }
  if (uint64_t wait_ms = context_.edge.check_request(config.protection, head, peer, context_.loop.now_ms())) {
    context_.counters.bad_requests.add();
    answer_locally(429, protection::retry_after_seconds(wait_ms));
    return;
  }

  char client_ip[INET6_ADDRSTRLEN] = {};
  size_t ip_length = 0;
  if (config.forwarded.mode != http1::ForwardedPolicy::Mode::none) {
    net::SocketAddress address;
    std::memcpy(&address.storage, &connection_.peer(), sizeof(connection_.peer()));
    ip_length = address.format_host(client_ip, sizeof(client_ip));
  }
  http1::RequestHeadOptions options;
  options.forwarded = config.forwarded;
  options.headers = config.headers;
  options.client_ip = {client_ip, ip_length};
  options.proto = connection_.is_tls() ? "https" : "http";
  options.client_subject_header = connection_.listener().tls.client_subject_header;
  options.client_subject = connection_.client_subject();
  if (!http1::write_request_head(head, options, req_head_)) {
    fail(Outcome::head_too_large);
    return;
  }
  request_chunked_ = head.body == BodyKind::chunked;
  exchange_->request_body.start(head.body, head.content_length);
  enter(H2StreamState::connecting);
  context_.upstream.on_request();  // its share of a retry, once per request
  upstream_side_.acquire_backend();
}

// ---------------------------------------------------------------------------------------
// The request body

bool H2StreamExchange::on_request_data(std::span<const uint8_t> bytes) {
  if (state_ == H2StreamState::finished || state_ == H2StreamState::cancelled || !exchange_) {
    // Answered already (early response, or an error of ours): the rest is not wanted.
    connection_.session().consume_request_body(stream_id_, bytes.size());
    return false;
  }
  if (bytes.empty()) return false;
  last_body_byte_ms_ = context_.loop.now_ms();
  BodyProgress& body = exchange_->request_body;
  body.data_bytes += bytes.size();
  uint64_t max_body = context_.config().limits.max_body_bytes;
  if (max_body > 0 && body.data_bytes > max_body) {
    connection_.session().consume_request_body(stream_id_, bytes.size());
    fail(Outcome::body_too_large);
    return false;
  }
  // Held until the connection has fed the session all it read (flush_request_body): the
  // frames of one read go to the backend as one chunk and one write, however small they are.
  const bool first_of_batch = batch_body_.empty();
  batch_body_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  credit_owed_ += bytes.size();
  exchange_->retryable = false;
  return first_of_batch;
}

void H2StreamExchange::frame_batch_body() {
  if (batch_body_.empty()) return;
  if (request_chunked_) {
    char size_line[24];
    int n = std::snprintf(size_line, sizeof(size_line), "%zx\r\n", batch_body_.size());
    req_body_.append(size_line, static_cast<size_t>(n));
    req_body_.append(batch_body_);
    req_body_.append("\r\n");
  } else {
    req_body_.append(batch_body_);
  }
  batch_body_.clear();
}

void H2StreamExchange::flush_request_body() {
  if (batch_body_.empty()) return;
  if (state_ == H2StreamState::finished || state_ == H2StreamState::cancelled || !exchange_) {
    batch_body_.clear();  // answered meanwhile: not wanted (as on_request_data drops it now)
    return;
  }
  frame_batch_body();
  if (state_ == H2StreamState::exchanging) pump();
}

void H2StreamExchange::on_request_end(std::string_view trailer_lines) {
  if (request_ended_) return;
  request_ended_ = true;
  if (state_ == H2StreamState::finished || state_ == H2StreamState::cancelled || !exchange_) return;
  frame_batch_body();  // the body's last bytes go before its end
  if (request_chunked_) {
    req_body_.append("0\r\n");
    req_body_.append(trailer_lines);  // already "name: value\r\n" lines, checked by the translator
    req_body_.append("\r\n");
  }
  if (state_ == H2StreamState::exchanging) pump();
}

void H2StreamExchange::check_body_timeout(uint64_t now_ms) {
  if (request_ended_ || !exchange_ || exchange_->queued) return;
  if (state_ != H2StreamState::connecting && state_ != H2StreamState::exchanging) return;
  const Timeouts& timeouts = context_.config().timeouts;
  // The gap counts only while the client has window and nothing of its waits on our side
  // (a slow backend holds its credit back, and then the pause is not the client's).
  const bool waiting_on_client = req_body_.empty() && batch_body_.empty() && credit_owed_ == 0;
  const bool gap =
      waiting_on_client && timeouts.client_body_ms > 0 && now_ms - last_body_byte_ms_ >= timeouts.client_body_ms;
  const bool total = timeouts.client_body_total_ms > 0 && now_ms - body_started_ms_ >= timeouts.client_body_total_ms;
  if (gap || total) fail(Outcome::client_timeout);
}

void H2StreamExchange::give_request_credit() {
  // The client may send more once what it sent is (nearly) with the backend.
  if (credit_owed_ == 0 || req_body_.size() + batch_body_.size() > kRequestCreditLowWater) return;
  size_t credit = credit_owed_;
  credit_owed_ = 0;
  connection_.session().consume_request_body(stream_id_, credit);
}

// ---------------------------------------------------------------------------------------
// connecting

void H2StreamExchange::on_upstream_ready() {
  enter(H2StreamState::exchanging);
  pump();
}

void H2StreamExchange::on_upstream_connecting() {
  if (state_ != H2StreamState::connecting) enter(H2StreamState::connecting);
}

void H2StreamExchange::on_upstream_queued() {}

void H2StreamExchange::on_upstream_slot_granted() {
  // The body is timed again from the grant (its wait in the queue was not its fault).
  body_started_ms_ = last_body_byte_ms_ = context_.loop.now_ms();
}

void H2StreamExchange::on_upstream_refused(uint32_t retry_after_s) {
  context_.counters.no_backend.add();
  answer_locally(503, retry_after_s);
}

void H2StreamExchange::on_upstream_failed(Outcome outcome) { fail(outcome); }

void H2StreamExchange::on_backend_connected() { upstream_side_.on_connected(); }

void H2StreamExchange::on_backend_connect_failed(int error) {
  {
    // A retry gives this stream's slot back first: a sibling granted it at once must not
    // end this stream (through a flush) while the retry is under way.
    H2ClientConnection::OutputHold hold(connection_);
    upstream_side_.on_connect_failed(error);
  }
  connection_.flush();
}

void H2StreamExchange::on_backend_io() {
  if (state_ == H2StreamState::exchanging) pump();
}

void H2StreamExchange::on_backend_timeout() {
  if (state_ == H2StreamState::exchanging || state_ == H2StreamState::connecting) fail(Outcome::response_timeout);
}

// ---------------------------------------------------------------------------------------
// exchanging

void H2StreamExchange::pump() {
  for (;;) {
    if (state_ != H2StreamState::exchanging) break;
    bool moved = forward_request();
    if (state_ != H2StreamState::exchanging) break;
    moved = forward_response() || moved;
    if (!moved) break;
  }
  connection_.flush();
}

bool H2StreamExchange::forward_request() {
  if (exchange_->request_phase == RequestPhase::done) return false;
  bool moved = false;
  const size_t body_sent = upstream_side_.send_request(req_head_, req_body_, moved);
  if (body_sent > 0) req_body_.erase(0, body_sent);
  give_request_credit();
  if (exchange_->request_head_sent == req_head_.size() && req_body_.empty() && request_ended_) {
    exchange_->request_phase = RequestPhase::done;
    if (exchange_->request_body.has_bytes) context_.counters.bodies_copied.add();
    upstream_side_.backend()->arm_response_timer();
    moved = true;
  }
  return moved;
}

bool H2StreamExchange::forward_response() {
  bool moved = false;
  BackendConnection& backend = *upstream_side_.backend();
  if (!session_full_) upstream_side_.receive_response(resp_, moved);
  while (exchange_->response_phase == ResponsePhase::awaiting_head && !resp_.empty()) {
    size_t before = resp_.size();
    if (!parse_response_head()) return false;
    if (state_ != H2StreamState::exchanging) return false;
    if (resp_.size() == before) break;  // need more
    moved = true;
  }
  if (exchange_->response_phase == ResponsePhase::body) {
    if (!relay_response_body(moved)) return false;
    if (state_ != H2StreamState::exchanging) return false;
  }
  // The backend is gone: failed (a reset comes with EPOLLIN set, so `readable` may stay
  // true), or closed with nothing left to read.
  const bool backend_gone = backend.failed || (backend.peer_closed && !backend.readable);
  if (exchange_->response_phase != ResponsePhase::done && backend_gone) {
    if (exchange_->response_phase == ResponsePhase::body && exchange_->response_body.kind == BodyKind::until_close &&
        resp_.empty() && !backend.failed) {
      finish_response({});
      return false;
    }
    if (exchange_->response_phase == ResponsePhase::body && resp_.size() > 0 && session_full_) return moved;
    if (!exchange_->response_bytes_seen && try_replay()) return false;
    fail(Outcome::backend_failed);
    return false;
  }
  return moved;
}

bool H2StreamExchange::parse_response_head() {
  auto scan = http1::scan_head_end(resp_.data(), resp_.size(), exchange_->response_scan_from);
  exchange_->response_scan_from = static_cast<uint32_t>(scan.next_from);
  const http1::HeadLimits& limits = context_.config().limits.response_head;
  bool buffer_full = resp_.write_space() == 0;
  if (scan.head_length == 0 && !scan.bare_lf && !buffer_full) return true;

  http1::MessageHead& head = context_.scratch_head;
  size_t length = scan.head_length > 0 ? scan.head_length : resp_.size();
  auto result = http1::parse_response_head(resp_.data(), length, limits, exchange_->method, head);
  if (result.status != ParseStatus::done || head.status == 101) {
    fail(Outcome::bad_response);  // malformed, or a protocol switch nobody can ask for over HTTP/2
    return false;
  }
  http2::H2ServerSession& session = connection_.session();
  if (head.status < 200) {
    // 100 Continue, 103 Early Hints: relayed, then the final response is awaited. Each
    // is queued in the session as its own HEADERS: a backend sending them without end
    // would grow the stream's output for ever, so past a few it is a bad response.
    if (interim_relayed_ >= kMaxInterimResponses) {
      fail(Outcome::bad_response);
      return false;
    }
    ++interim_relayed_;
    session.submit_response_head(stream_id_, head);
    resp_.consume(head.head_bytes);
    exchange_->response_scan_from = 0;
    return true;
  }
  exchange_->status = head.status;
  exchange_->backend_keep_alive = !head.connection_close && (head.version_minor == 1 || head.connection_keep_alive);
  upstream::UpstreamBackend& runtime = upstream_side_.backend()->backend();
  const ProxyConfig& config = context_.config();
  upstream_side_.note_response_head(head.status);
  // Headers of ours, as for HTTP/1.1: the sticky cookie, HSTS on TLS connections.
  char cookie[128];
  if (upstream_side_.wants_sticky_cookie()) {
    int n = std::snprintf(cookie, sizeof(cookie), "%.64s=%016llx; Path=/; HttpOnly", config.cookie_name.c_str(),
                          static_cast<unsigned long long>(runtime.identity));
    if (n > 0 && static_cast<size_t>(n) < sizeof(cookie)) add_header(head, "set-cookie", {cookie, size_t(n)});
  }
  const std::string& hsts = connection_.listener().tls.hsts;
  if (connection_.is_tls() && !hsts.empty() && !has_header(head, "strict-transport-security")) {
    add_header(head, "strict-transport-security", hsts);
  }
  if (!session.submit_response_head(stream_id_, head)) {
    fail(Outcome::bad_response);
    return false;
  }
  head_sent_ = true;
  exchange_->response_started = true;
  resp_.consume(head.head_bytes);
  exchange_->response_body.start(head.body, head.content_length);
  chunked_.reset();
  chunk_framing_.clear();
  exchange_->response_phase = ResponsePhase::body;
  upstream_side_.count_response(head.status);
  return true;
}

bool H2StreamExchange::relay_response_body(bool& moved) {
  BodyProgress& body = exchange_->response_body;
  http2::H2ServerSession& session = connection_.session();
  switch (body.kind) {
    case BodyKind::none: finish_response({}); return false;
    case BodyKind::chunked: return relay_chunked(moved);
    case BodyKind::content_length:
    case BodyKind::until_close: {
      size_t ready = resp_.size();
      if (body.kind == BodyKind::content_length) ready = static_cast<size_t>(std::min<uint64_t>(ready, body.remaining));
      if (ready > 0 && !session_full_) {
        size_t taken = session.send_response_body(stream_id_, {reinterpret_cast<const uint8_t*>(resp_.data()), ready});
        if (taken < ready) session_full_ = true;
        if (taken > 0) {
          resp_.consume(taken);
          exchange_->response_bytes += taken;
          if (body.kind == BodyKind::content_length) body.remaining -= taken;
          moved = true;
        }
      }
      if (body.kind == BodyKind::content_length && body.remaining == 0) {
        finish_response({});
        return false;
      }
      return true;
    }
  }
  return true;
}

bool H2StreamExchange::relay_chunked(bool& moved) {
  http2::H2ServerSession& session = connection_.session();
  while (!resp_.empty() && !session_full_) {
    uint64_t in_chunk = chunked_.remaining_in_chunk();
    if (in_chunk > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(in_chunk, resp_.size()));
      size_t taken = session.send_response_body(stream_id_, {reinterpret_cast<const uint8_t*>(resp_.data()), n});
      if (taken < n) session_full_ = true;
      if (taken == 0) break;
      chunked_.feed(resp_.data(), taken);
      resp_.consume(taken);
      exchange_->response_bytes += taken;
      moved = true;
      continue;
    }
    // Framing, a byte at a time (it is short), kept to read the trailers at the end.
    auto step = chunked_.feed(resp_.data(), 1);
    if (step.error != http1::ChunkedError::none) {
      fail(Outcome::bad_response);
      return false;
    }
    if (step.consumed == 0) break;
    chunk_framing_.push_back(resp_.data()[0]);
    resp_.consume(1);
    moved = true;
    if (step.done) {
      std::vector<http1::HeaderField> trailers = parse_trailers(chunk_framing_);
      finish_response(trailers);
      return false;
    }
    if (chunked_.remaining_in_chunk() > 0) chunk_framing_.clear();  // data starts
  }
  return true;
}

bool H2StreamExchange::try_replay() {
  if (!upstream_side_.may_replay()) return false;
  resp_.clear();
  enter(H2StreamState::connecting);
  {
    H2ClientConnection::OutputHold hold(connection_);  // as in on_backend_connect_failed
    upstream_side_.replay();
  }
  connection_.flush();
  return true;
}

void H2StreamExchange::finish_response(std::span<const http1::HeaderField> trailers) {
  exchange_->response_phase = ResponsePhase::done;
  if (exchange_->response_body.has_bytes) context_.counters.bodies_copied.add();
  connection_.session().end_response(stream_id_, trailers);
  upstream_side_.record_total_time();
  upstream_side_.release_backend(upstream_side_.backend() && backend_may_be_pooled());
  upstream_side_.finish_access_record(0);
  release_exchange();
  resp_.release();
  req_head_.release();
  enter(H2StreamState::finished);
  connection_.flush();
}

bool H2StreamExchange::backend_may_be_pooled() const {
  // The upstream side's reasons, and no unsolicited bytes after the response.
  return upstream_side_.backend_may_be_pooled() && resp_.empty();
}

// ---------------------------------------------------------------------------------------
// Endings

void H2StreamExchange::fail(Outcome outcome) {
  const OutcomeRule& rule = rule_of(outcome);
  context_.count_failure(rule, upstream_side_.backend() ? &upstream_side_.backend()->backend() : nullptr);
  if (!head_sent_) {
    answer_locally(rule.status);
    return;
  }
  // Mid-response: the stream is reset, so the client sees it incomplete.
  upstream_side_.release_backend(false);
  upstream_side_.finish_access_record(0);
  release_exchange();
  enter(H2StreamState::finished);
  connection_.session().reset_stream(stream_id_, kInternalError);
  connection_.flush();
}

void H2StreamExchange::answer_locally(uint16_t status, uint32_t retry_after_s) {
  upstream_side_.release_backend(false);
  // The same bytes an HTTP/1.1 client would get, read back as a head and a body.
  buffer::ByteBuffer limit_response;
  limit_response.attach_pool(&context_.buffers);
  std::string_view bytes = http1::canned_response(status);
  if (retry_after_s > 0 && protection::write_limit_response(status, retry_after_s, false, limit_response)) {
    bytes = {limit_response.data(), limit_response.size()};
  }
  http1::MessageHead& head = context_.scratch_head;
  auto parsed = http1::parse_response_head(bytes.data(), bytes.size(), context_.config().limits.response_head,
                                           exchange_ ? exchange_->method : Method::get, head);
  http2::H2ServerSession& session = connection_.session();
  context_.counters.count_response(status);
  upstream_side_.finish_access_record(status);
  release_exchange();
  enter(H2StreamState::finished);
  head_sent_ = true;
  if (parsed.status != ParseStatus::done || !session.submit_response_head(stream_id_, head)) {
    session.reset_stream(stream_id_, kInternalError);
  } else {
    std::string_view body = bytes.substr(head.head_bytes);
    if (head.body == BodyKind::content_length) body = body.substr(0, head.content_length);
    session.send_response_body(stream_id_, {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
    session.end_response(stream_id_);
  }
  limit_response.release();
  connection_.flush();
}

void H2StreamExchange::on_response_writable() {
  session_full_ = false;
  if (state_ == H2StreamState::exchanging) pump();
}

void H2StreamExchange::on_stream_closed(bool completed) {
  if (state_ == H2StreamState::cancelled) return;
  if (!completed && state_ != H2StreamState::finished) {
    // Reset by the client (or the connection ended) while the backend works on it: its
    // connection is closed, never pooled, and the backend's work stops there.
    context_.counters.h2_exchanges_cancelled.add();
  }
  upstream_side_.leave_queue();
  upstream_side_.release_backend(false);
  upstream_side_.finish_access_record(499);
  release_exchange();
  enter(H2StreamState::cancelled);
  retire();
}

void H2StreamExchange::release_exchange() {
  // A slot given back may go at once to a sibling stream: its writes wait for ours.
  H2ClientConnection::OutputHold hold(connection_);
  upstream_side_.close_exchange();
  exchange_ = nullptr;
}

void H2StreamExchange::retire() {
  resp_.release();
  req_head_.release();
  closed_ = true;
  context_.loop.retire(this);
}

}  // namespace lb::proxy
