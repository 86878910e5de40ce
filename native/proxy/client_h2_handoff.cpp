// ClientConnection: the hand-off to HTTP/2. A connection that turns out to speak HTTP/2
// (ALPN "h2" after the TLS handshake, or the h2c preface on a plain listener) gives its
// socket, TLS state and unread bytes to an H2ClientConnection and retires.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "proxy/client_connection.h"
#include "proxy/h2_client_connection.h"
#include "proxy/worker_context.h"

namespace lb::proxy {

namespace {
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
}  // namespace

ClientConnection::H2cPreface ClientConnection::h2c_preface() const {
  // ACME challenges are answered on h2c streams as on HTTP/1.1 (H2ClientConnection).
  if (transport_.is_tls() || !listener_takes_h2c(context_.config(), context_.listener(listener_index_))) {
    return H2cPreface::none;
  }
  const size_t n = std::min(in_.size(), kPreface.size());
  if (std::memcmp(in_.data(), kPreface.data(), n) != 0) return H2cPreface::none;
  return n == kPreface.size() ? H2cPreface::complete : H2cPreface::partial;
}

void ClientConnection::hand_off_to_http2() {
  H2ClientConnection::Handoff handoff{std::move(fd_),  std::move(transport_),      peer_,
                                      listener_index_, std::move(client_subject_), std::string(in_.data(), in_.size())};
  context_.loop.timers().disarm(timer_);
  enter(ClientState::closed);
  closed_ = true;
  in_.release();
  out_.release();
  req_head_.release();
  resp_.release();
  release_exchange();
  // Retires this connection; from here on the new one owns the socket.
  H2ClientConnection::take_over(context_, *this, std::move(handoff));
}

}  // namespace lb::proxy
