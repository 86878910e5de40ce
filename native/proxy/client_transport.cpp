#include "proxy/client_transport.h"

#include <sys/epoll.h>
#include <sys/socket.h>

namespace lb::proxy {

namespace {

IoResult from_tls(const tls::TlsIoResult& io) {
  switch (io.status) {
    case tls::TlsIoStatus::progress: return {IoStatus::progress, io.bytes, 0};
    case tls::TlsIoStatus::would_block: return {IoStatus::would_block, 0, 0};
    case tls::TlsIoStatus::eof: return {IoStatus::eof, 0, 0};
    case tls::TlsIoStatus::failed: return {IoStatus::failed, 0, io.error};
  }
  return {IoStatus::failed, 0, EPROTO};
}

}  // namespace

bool ClientTransport::start_tls(std::shared_ptr<const tls::TlsServerContext> context, const tls::TicketKeyRing* ring,
                                std::shared_ptr<const tls::AcmeAlpnChallenges> challenges) {
  tls_ = tls::TlsStream::accept(std::move(context), fd_, ring, std::move(challenges));
  return tls_ != nullptr;
}

bool ClientTransport::start_tls_connect(std::shared_ptr<const tls::TlsClientContext> context,
                                        std::string_view server_name, SSL_SESSION* session, std::string& error) {
  tls_ = tls::TlsStream::connect(std::move(context), fd_, server_name, session, error);
  return tls_ != nullptr;
}

tls::HandshakeStatus ClientTransport::handshake() {
  if (!tls_) return tls::HandshakeStatus::done;
  return tls_->handshake();
}

IoResult ClientTransport::read(char* into, size_t capacity) {
  if (!tls_) return read_some(fd_, into, capacity);
  tls::TlsIoResult io = tls_->read(into, capacity);
  read_waits_for_writable_ = io.status == tls::TlsIoStatus::would_block && io.wait_for == tls::WaitFor::writable;
  return from_tls(io);
}

IoResult ClientTransport::write(const iovec* parts, int count) {
  if (!tls_) return write_some(fd_, parts, count);
  tls::TlsIoResult io = tls_->write(parts, count);
  write_waits_for_readable_ = io.status == tls::TlsIoStatus::would_block && io.wait_for == tls::WaitFor::readable;
  return from_tls(io);
}

void ClientTransport::shutdown_write() {
  close_notify();
  ::shutdown(fd_, SHUT_WR);
}

void ClientTransport::close_notify() {
  // Once: a second shutdown() of the stream is a no-op. A full socket buffer (want_write)
  // is not waited for: the close that follows is what the peer needs to see.
  if (tls_ && tls_->established()) tls_->shutdown();
}

uint32_t ClientTransport::map_events(uint32_t events) {
  if (read_waits_for_writable_ && (events & EPOLLOUT)) {
    read_waits_for_writable_ = false;
    events |= EPOLLIN;
  }
  if (write_waits_for_readable_ && (events & EPOLLIN)) {
    write_waits_for_readable_ = false;
    events |= EPOLLOUT;
  }
  return events;
}

}  // namespace lb::proxy
