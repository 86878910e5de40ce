// ClientConnection, responding and lingering_close states: responses of our own (errors,
// redirects) and the careful close that follows. The rest of the state machine is in
// client_connection.cpp.
#include "proxy/client_connection.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

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
  balancing::BackendRuntime* backend = context_.pick_backend(pick_request());
  if (!backend) {
    context_.counters.no_backend.add();
    send_error(503);
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
  finish_access_record(status);

  // A request body we would have to read and discard ends the connection instead.
  bool has_body = head.body == BodyKind::chunked ||
                  (head.body == BodyKind::content_length && head.content_length > 0);
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
    send_error(414);
    return;
  }
  respond_locally(close_after);
}

void ClientConnection::send_error(uint16_t status) {
  if (backend_) release_backend(false);
  finish_access_record(status);
  context_.counters.count_response(status);
  out_.clear();
  out_.append(http1::canned_response(status));
  respond_locally(true);
}

void ClientConnection::respond_locally(bool close_after) {
  req_head_.release();
  resp_.release();
  close_after_response_ = close_after;
  enter(ClientState::responding);
  arm_timer(TimerKind::lingering);  // bounded time to take the response
  flush_local_response();
}

void ClientConnection::flush_local_response() {
  while (!out_.empty()) {
    if (!writable_) return;
    iovec part{const_cast<char*>(out_.data()), out_.size()};
    IoResult io = write_some(fd_.get(), &part, 1);
    if (io.status == IoStatus::progress) {
      context_.counters.bytes_to_clients.add(io.bytes);
      out_.consume(io.bytes);
      if (!out_.empty()) writable_ = false;
    } else if (io.status == IoStatus::would_block) {
      writable_ = false;
      return;
    } else {
      close();
      return;
    }
  }
  out_.release();
  release_exchange();
  if (close_after_response_) {
    begin_lingering_close();
    return;
  }
  enter(ClientState::reading_head);
  arm_timer(in_.empty() ? TimerKind::keep_alive : TimerKind::head);
  read_request_head();
}

void ClientConnection::begin_lingering_close() {
  // Closing with unread input would make the kernel send a reset, which can destroy the
  // response still in flight to the client. So unless the socket is known to be drained
  // (nothing buffered, the last read hit EAGAIN or EOF), shut our side, then read and
  // discard until the client closes (or the lingering timer ends it). A drained socket,
  // the usual end of a Connection: close exchange, is simply closed.
  if (in_.empty() && !readable_) {
    close();
    return;
  }
  ::shutdown(fd_.get(), SHUT_WR);
  enter(ClientState::lingering_close);
  in_.clear();
  in_.release();
  out_.release();
  arm_timer(TimerKind::lingering);
  discard_input();
}

void ClientConnection::discard_input() {
  char sink[4096];
  while (readable_) {
    IoResult io = read_some(fd_.get(), sink, sizeof(sink));
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
