// ClientConnection, responding and lingering_close states: responses of our own (errors,
// redirects) and the careful close that follows. The rest of the state machine is in
// client_connection.cpp.
#include "proxy/client_connection.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "http1/acme_challenge.h"
#include "http1/canned_response.h"
#include "http1/head_writer.h"
#include "proxy/backend_connection.h"
#include "proxy/socket_io.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

using http1::BodyKind;
// ---------------------------------------------------------------------------------------
// responding and lingering_close

void ClientConnection::answer_redirect(const http1::MessageHead& head) {
  // Redirect mode: the balancer only reads the head, picks a backend and points the
  // client at that backend's public URL. No backend connection is made.
  upstream::UpstreamBackend* backend = context_.upstream.pick(upstream_side_.pick_request());
  if (!backend) {
    fail(Outcome::no_backend);
    return;
  }
  const ProxyConfig& config = context_.config();
  uint16_t status = config.redirect_status;
  backend->counters->requests.add();
  backend->counters->count_response(status);
  context_.counters.count_response(status);
  if (stats::AccessRecord* record = exchange_->access) {
    record->backend_id = backend->spec.id;
    record->has_backend = true;
  }
  upstream_side_.finish_access_record(status);

  // A request body we would have to read and discard ends the connection instead.
  bool has_body = head.body == BodyKind::chunked || (head.body == BodyKind::content_length && head.content_length > 0);
  bool close_after = exchange_->client_wants_close || has_body || context_.draining();
  std::string_view authority;
  std::string_view path;
  if (!http1::split_absolute_form(head.target, authority, path)) path = head.target;
  if (path == "*") path = "";
  out_.clear();
  bool ok = http1::write_redirect(status, backend->spec.public_url, path, close_after,
                                  !close_after && exchange_->client_keep_alive_10, out_);
  in_.consume(head.head_bytes);
  head_scan_from_ = 0;
  line_check_ = {};
  if (!ok) {
    fail(Outcome::uri_too_long);
    return;
  }
  respond_locally(close_after);
}

bool ClientConnection::answer_acme_challenge(const http1::MessageHead& head) {
  std::optional<std::string_view> token = http1::acme_challenge_token(head.target);
  if (!token) return false;
  std::optional<std::string_view> key_authorization = context_.config().acme_challenges->find(*token);
  uint16_t status = key_authorization ? 200 : 404;
  context_.counters.count_response(status);
  upstream_side_.finish_access_record(status);
  bool has_body = head.body == BodyKind::chunked || (head.body == BodyKind::content_length && head.content_length > 0);
  bool close_after = exchange_->client_wants_close || has_body || context_.draining();
  out_.clear();
  bool ok = http1::write_acme_challenge_response(key_authorization, head.method == http1::Method::head, close_after,
                                                 !close_after && exchange_->client_keep_alive_10, out_);
  in_.consume(head.head_bytes);
  head_scan_from_ = 0;
  line_check_ = {};
  if (!ok) {
    fail(Outcome::head_too_large);
    return true;
  }
  respond_locally(close_after);
  return true;
}

void ClientConnection::answer_https_redirect(const http1::MessageHead& head) {
  // The same host (from Host, or an absolute-form target), over HTTPS: the client is
  // told where to go without a backend being asked.
  const HttpsRedirect& redirect = context_.listener(listener_index_).https_redirect;
  std::string_view authority;
  std::string_view path;
  if (!http1::split_absolute_form(head.target, authority, path)) {
    path = head.target;
    for (uint32_t i = 0; i < head.header_count; ++i) {
      if (http1::equals_ignore_case(head.headers[i].name, "host")) authority = head.headers[i].value;
    }
  }
  // The host without its port; only the characters a host name or IP literal has.
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') == std::string_view::npos ? host.size() : host.find(']') + 1);
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  bool valid = !host.empty() && host.size() <= 255;
  for (char c : host) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                   c == '[' || c == ']' || c == ':';
    valid = valid && allowed;
  }
  if (!valid) {
    fail(Outcome::bad_request);
    return;
  }
  if (path == "*" || path.empty()) path = "/";
  char base[300];
  int n = redirect.port == 443
              ? std::snprintf(base, sizeof(base), "https://%.*s", static_cast<int>(host.size()), host.data())
              : std::snprintf(base, sizeof(base), "https://%.*s:%u", static_cast<int>(host.size()), host.data(),
                              static_cast<unsigned>(redirect.port));
  bool has_body = head.body == BodyKind::chunked || (head.body == BodyKind::content_length && head.content_length > 0);
  bool close_after = exchange_->client_wants_close || has_body || context_.draining();
  context_.counters.count_response(redirect.status);
  upstream_side_.finish_access_record(redirect.status);
  out_.clear();
  bool ok = n > 0 && static_cast<size_t>(n) < sizeof(base) &&
            http1::write_redirect(redirect.status, {base, static_cast<size_t>(n)}, path, close_after,
                                  !close_after && exchange_->client_keep_alive_10, out_);
  in_.consume(head.head_bytes);
  head_scan_from_ = 0;
  line_check_ = {};
  if (!ok) {
    fail(Outcome::uri_too_long);
    return;
  }
  respond_locally(close_after);
}

void ClientConnection::answer_plain_http_on_tls_port() {
  // nginx's 497 idea as a plain 400: the client is told in words it can read, in plain
  // text, and the connection closes (its request is read and discarded while lingering).
  static constexpr std::string_view response =
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 51\r\nConnection: close\r\n\r\n"
      "This port speaks HTTPS: send the request over TLS.\n";
  transport_.fall_back_to_plain();
  context_.counters.bad_requests.add();
  context_.counters.count_response(400);
  readable_ = true;  // the request's bytes are still unread (only peeked at)
  out_.clear();
  out_.append(response);
  respond_locally(true);
}

void ClientConnection::fail(Outcome outcome, size_t flushable) {
  const OutcomeRule& rule = rule_of(outcome);
  context_.count_failure(rule, upstream_side_.backend() ? &upstream_side_.backend()->backend() : nullptr);
  // Over TLS a relayed head can be on its way with no byte counted as sent: a write that
  // would block leaves it sealed in a half-sent record, which must be finished as it is.
  const bool response_on_wire = exchange_ && (exchange_->response_started || transport_.pending_write_bytes() > 0);
  if (!response_on_wire) {
    // Not a byte of a response went out (a relayed head waiting in out_ is dropped): the
    // client gets a clean answer of ours.
    send_error(rule.status);
  } else if (rule.backend_failure) {
    abort_response(flushable);
  } else {
    close();  // mid-response, the client's doing: a close is all there is to say
  }
}

void ClientConnection::send_error(uint16_t status) {
  release_backend(false);
  upstream_side_.finish_access_record(status);
  context_.counters.count_response(status);
  out_.clear();
  out_.append(http1::canned_response(status));
  respond_locally(true);
}

void ClientConnection::abort_response(size_t ready) {
  // Part of the response went out: flush the rest of its head and the body bytes already
  // validated, then close; the client's framing (a Content-Length not reached, no last
  // chunk) shows the response as truncated. Bytes after `ready` are not the client's.
  // A TLS record already sealed from these bytes is finished first, whatever `ready`
  // says, or the client would get half a record (a broken stream, not a short response).
  release_backend(false);
  req_head_.release();
  const size_t sealed = transport_.pending_write_bytes();
  if (sealed > out_.size()) ready = std::max(ready, std::min(resp_.size(), sealed - out_.size()));
  resp_.drop_back(resp_.size() - ready);
  close_after_response_ = true;
  // A reset, not a clean end, when the client's framing cannot show the cut: a body
  // delimited by the connection's end, or one we de-chunk into such a body.
  const BodyProgress& body = exchange_->response_body;
  reset_after_response_ = body.dechunk || body.kind == BodyKind::until_close;
  enter(ClientState::responding);
  arm_timer(TimerKind::lingering);  // bounded time to take what is left
  flush_local_response();
}

void ClientConnection::respond_locally(bool close_after) {
  // An answer of ours ends a wait for a backend slot, and gives back a slot no backend
  // connection uses, now rather than once the answer is flushed: a grant or a queue
  // timeout arriving meanwhile must not answer (or send) the request again.
  if (upstream_side_.backend()) {
    upstream_side_.leave_queue();
  } else {
    upstream_side_.release_slot();
  }
  req_head_.release();
  resp_.release();
  close_after_response_ = close_after;
  reset_after_response_ = false;
  enter(ClientState::responding);
  arm_timer(TimerKind::lingering);  // bounded time to take the response
  flush_local_response();
}

void ClientConnection::flush_local_response() {
  // out_: our response, or the rest of a relayed head; resp_: relayed body bytes of a
  // truncated response (empty for responses of our own).
  while (!out_.empty() || !resp_.empty()) {
    if (!writable_) return;
    iovec parts[2];
    int count = 0;
    const size_t head_part = out_.size();
    if (head_part > 0) parts[count++] = {const_cast<char*>(out_.data()), head_part};
    if (!resp_.empty()) parts[count++] = {const_cast<char*>(resp_.data()), resp_.size()};
    IoResult io = transport_.write(parts, count);
    if (io.status == IoStatus::progress) {
      context_.counters.bytes_to_clients.add(io.bytes);
      const size_t from_out = std::min(io.bytes, head_part);
      out_.consume(from_out);
      resp_.consume(io.bytes - from_out);
      if (!out_.empty() || !resp_.empty()) writable_ = false;
    } else if (io.status == IoStatus::would_block) {
      writable_ = false;
      return;
    } else {
      close();
      return;
    }
  }
  out_.release();
  resp_.release();
  const bool request_unread = request_body_unread();
  release_exchange();
  if (reset_after_response_) {
    reset_connection();
    return;
  }
  if (close_after_response_) {
    begin_lingering_close(request_unread);
    return;
  }
  enter(ClientState::reading_head);
  arm_timer(in_.empty() ? TimerKind::keep_alive : TimerKind::head);
  read_request_head();
}

void ClientConnection::begin_lingering_close(bool request_unread) {
  // Closing with unread input would make the kernel send a reset, which can destroy the
  // response still in flight to the client. So unless the socket is known to be drained
  // (nothing buffered, the last read hit EAGAIN or EOF) and the client has nothing more
  // to send (its request was read to the end), shut our side, then read and discard until
  // the client closes (or the lingering timer ends it). A drained socket after a complete
  // request, the usual end of a Connection: close exchange, is simply closed. A client
  // answered early, mid-body, is still sending: a plain close would reset it, and a client
  // that reads only once its body is sent would never see the answer.
  if (!request_unread && in_.empty() && !readable_) {
    close();
    return;
  }
  transport_.shutdown_write();
  enter(ClientState::lingering_close);
  in_.clear();
  in_.release();
  out_.release();
  arm_timer(TimerKind::lingering);
  discard_input();
}

void ClientConnection::reset_connection() {
  // SO_LINGER with a zero timeout: close() sends a reset, which the client sees as an
  // error, where a FIN would end a close-delimited body as if it were complete.
  linger abort{1, 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  close();
}

void ClientConnection::discard_input() {
  char sink[4096];
  while (readable_) {
    IoResult io = transport_.read(sink, sizeof(sink));
    if (io.status == IoStatus::progress) continue;
    if (io.status == IoStatus::would_block) {
      readable_ = false;
      return;
    }
    close();  // EOF or error: the client is done
    return;
  }
}

}  // namespace lb::proxy
