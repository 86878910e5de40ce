#include "tls/tls_stream.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tls/certificate_names.h"
#include "tls/first_bytes.h"
#include "tls/openssl_error.h"

namespace lb::tls {
namespace {

// The largest TLS record payload: small pieces are gathered up to this, so a response
// head and the start of its body travel in one record instead of two.
constexpr size_t max_record_payload = 16384;

const char* errno_text(int error_number) {
  const char* text = strerrordesc_np(error_number);
  return text != nullptr ? text : "socket error";
}

}  // namespace

const char* to_string(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::none: return "none";
    case HandshakeFailure::not_tls: return "not_tls";
    case HandshakeFailure::http_request: return "http_request";
    case HandshakeFailure::peer_closed: return "peer_closed";
    case HandshakeFailure::peer_certificate: return "peer_certificate";
    case HandshakeFailure::alert_received: return "alert_received";
    case HandshakeFailure::version: return "version";
    case HandshakeFailure::no_shared_cipher: return "no_shared_cipher";
    case HandshakeFailure::protocol: return "protocol";
    case HandshakeFailure::io_error: return "io_error";
  }
  return "unknown";
}

std::unique_ptr<TlsStream> TlsStream::accept(std::shared_ptr<const TlsServerContext> context, int fd,
                                             const TicketKeyRing* ring,
                                             std::shared_ptr<const AcmeAlpnChallenges> challenges) {
  std::unique_ptr<TlsStream> stream(new TlsStream());
  SslPtr ssl = context->new_connection(ring, challenges.get());
  if (!ssl || !stream->attach(std::move(ssl), context->bio_method(), fd)) {
    clear_errors();
    return nullptr;
  }
  stream->context_ = std::move(context);
  stream->challenges_ = std::move(challenges);
  stream->phase_ = Phase::classifying;
  return stream;
}

std::unique_ptr<TlsStream> TlsStream::connect(std::shared_ptr<const TlsClientContext> context, int fd,
                                              std::string_view server_name, SSL_SESSION* session, std::string& error) {
  std::unique_ptr<TlsStream> stream(new TlsStream());
  SslPtr ssl = context->new_connection(server_name, session, error);
  if (!ssl) return nullptr;
  if (!stream->attach(std::move(ssl), context->bio_method(), fd)) {
    error = describe_failure("cannot attach the socket");
    return nullptr;
  }
  stream->context_ = std::move(context);
  stream->phase_ = Phase::handshaking;
  return stream;
}

TlsStream::~TlsStream() {
  // SSL_free treats a connection that sent no close_notify as "bad" and evicts its
  // session (from the server's cache, and as not resumable on the client), a TLS 1.0 rule
  // that TLS 1.1 dropped. Most clients close without close_notify, and a proxy closes
  // idle or timed-out connections the same way, so mark the shutdown as done: sessions
  // stay resumable. A connection that ended in a fatal alert had its session evicted by
  // OpenSSL already.
  if (ssl_) SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

bool TlsStream::attach(SslPtr ssl, const BIO_METHOD* method, int fd) {
  socket_.fd = fd;
  BioPtr bio = new_socket_bio(method, &socket_);
  if (!bio) return false;
  ssl_ = std::move(ssl);
  // One BIO for both directions: SSL_set_bio takes over the single reference.
  BIO* raw = bio.release();
  SSL_set_bio(ssl_.get(), raw, raw);
  return true;
}

HandshakeStatus TlsStream::handshake() {
  switch (phase_) {
    case Phase::established: return HandshakeStatus::done;
    case Phase::failed: return HandshakeStatus::failed;
    case Phase::classifying: {
      HandshakeStatus status = classify_first_bytes_on_socket();
      if (phase_ != Phase::handshaking) return status;  // nothing to look at yet, or failed
      break;
    }
    case Phase::handshaking: break;
  }
  clear_errors();
  socket_.last_error = 0;
  int result = SSL_do_handshake(ssl_.get());
  if (result == 1) {
    phase_ = Phase::established;
    return HandshakeStatus::done;
  }
  int ssl_error = SSL_get_error(ssl_.get(), result);
  if (ssl_error == SSL_ERROR_WANT_READ) return HandshakeStatus::want_read;
  if (ssl_error == SSL_ERROR_WANT_WRITE) return HandshakeStatus::want_write;
  return fail_from_openssl(ssl_error);
}

// Looks at the first bytes without consuming them (MSG_PEEK): one extra system call per
// accepted connection buys a clear answer for the two commonest mistakes (plain HTTP to
// the TLS port; anything else) instead of an OpenSSL record-layer error.
HandshakeStatus TlsStream::classify_first_bytes_on_socket() {
  char bytes[8];
  ssize_t n;
  do {
    n = ::recv(socket_.fd, bytes, sizeof(bytes), MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int error_number = errno;
    if (error_number == EAGAIN || error_number == EWOULDBLOCK) return HandshakeStatus::want_read;
    HandshakeFailure kind = error_number == ECONNRESET ? HandshakeFailure::peer_closed : HandshakeFailure::io_error;
    return fail(kind, errno_text(error_number), error_number);
  }
  if (n == 0) return fail(HandshakeFailure::peer_closed, "closed before sending a ClientHello");
  switch (classify_first_bytes(std::string_view(bytes, static_cast<size_t>(n)))) {
    case FirstBytes::tls_handshake:
      phase_ = Phase::handshaking;
      return HandshakeStatus::want_read;  // the caller's handshake() goes straight on
    case FirstBytes::http_request: return fail(HandshakeFailure::http_request, "http request on a TLS port");
    case FirstBytes::other: break;
  }
  return fail(HandshakeFailure::not_tls, "not TLS");
}

HandshakeStatus TlsStream::fail(HandshakeFailure failure, const char* reason, int error_number) {
  phase_ = Phase::failed;
  fatal_ = true;
  failure_ = failure;
  failure_reason_ = reason;
  failure_errno_ = error_number;
  clear_errors();
  return HandshakeStatus::failed;
}

HandshakeStatus TlsStream::fail_from_openssl(int ssl_error) {
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    return fail(HandshakeFailure::peer_closed, "close_notify during the handshake");
  }
  if (ssl_error == SSL_ERROR_SYSCALL && oldest_error_code() == 0) {
    int error_number = socket_.last_error;
    // A reset is how a peer that gives up usually leaves (closing with our flight unread).
    if (error_number == ECONNRESET || error_number == EPIPE) {
      return fail(HandshakeFailure::peer_closed, errno_text(error_number), error_number);
    }
    if (error_number != 0) return fail(HandshakeFailure::io_error, errno_text(error_number), error_number);
    return fail(HandshakeFailure::peer_closed, "closed during the handshake");
  }
  unsigned long code = oldest_error_code();
  const char* reason = oldest_error_reason();
  if (reason == nullptr) reason = "handshake failed";
  if (ERR_GET_LIB(code) == ERR_LIB_SSL) {
    int why = ERR_GET_REASON(code);
    switch (why) {
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return fail(HandshakeFailure::peer_closed, "closed during the handshake");
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST: return fail(HandshakeFailure::http_request, "http request on a TLS port");
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
        // The verification's own words ("hostname mismatch", "unable to get local issuer
        // certificate") say more than "certificate verify failed".
        return fail(HandshakeFailure::peer_certificate,
                    X509_verify_cert_error_string(SSL_get_verify_result(ssl_.get())));
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return fail(HandshakeFailure::peer_certificate, reason);
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION: return fail(HandshakeFailure::version, reason);
      case SSL_R_NO_SHARED_CIPHER:
      case SSL_R_NO_SHARED_GROUPS:
      case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
      case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM: return fail(HandshakeFailure::no_shared_cipher, reason);
      default:
        if (why >= SSL_AD_REASON_OFFSET) return fail(HandshakeFailure::alert_received, reason);
        break;
    }
  }
  return fail(HandshakeFailure::protocol, reason);
}

TlsIoResult TlsStream::read(char* into, size_t capacity) {
  if (phase_ != Phase::established || fatal_) return {TlsIoStatus::failed, 0, ENOTCONN};
  clear_errors();
  socket_.last_error = 0;
  size_t got = 0;
  int result = SSL_read_ex(ssl_.get(), into, capacity, &got);
  if (result == 1) return {TlsIoStatus::progress, got};
  return io_failure(SSL_get_error(ssl_.get(), result), true);
}

TlsIoResult TlsStream::write(const iovec* parts, int count) {
  if (phase_ != Phase::established || fatal_) return {TlsIoStatus::failed, 0, ENOTCONN};
  char gathered[max_record_payload];
  size_t total = 0;
  int index = 0;
  size_t offset = 0;  // into parts[index]
  while (index < count) {
    size_t left_in_part = parts[index].iov_len - offset;
    if (left_in_part == 0) {
      ++index;
      offset = 0;
      continue;
    }
    const char* chunk = static_cast<const char*>(parts[index].iov_base) + offset;
    size_t length = left_in_part;
    if (left_in_part < max_record_payload && index + 1 < count) {
      // Gather the small piece and what follows into one record's worth.
      length = 0;
      for (int at = index; at < count && length < max_record_payload; ++at) {
        size_t skip = at == index ? offset : 0;
        size_t take = std::min(parts[at].iov_len - skip, max_record_payload - length);
        std::memcpy(gathered + length, static_cast<const char*>(parts[at].iov_base) + skip, take);
        length += take;
      }
      chunk = gathered;
    }
    clear_errors();
    socket_.last_error = 0;
    size_t written = 0;
    int result = SSL_write_ex(ssl_.get(), chunk, length, &written);
    if (result != 1) {
      int ssl_error = SSL_get_error(ssl_.get(), result);
      // OpenSSL keeps the record it sealed from `chunk` (perhaps half sent) and must be
      // offered at least as many bytes, the same ones, on the next call.
      if (ssl_error == SSL_ERROR_WANT_WRITE || ssl_error == SSL_ERROR_WANT_READ) pending_write_bytes_ = length;
      // Report the bytes already sent; a lasting failure shows again on the next call.
      if (total > 0) {
        clear_errors();
        return {TlsIoStatus::progress, total};
      }
      return io_failure(ssl_error, false);
    }
    total += written;
    pending_write_bytes_ = 0;
    // Advance (index, offset) by `written` bytes.
    while (written > 0 && index < count) {
      size_t step = std::min(written, parts[index].iov_len - offset);
      written -= step;
      offset += step;
      if (offset == parts[index].iov_len) {
        ++index;
        offset = 0;
      }
    }
  }
  return {TlsIoStatus::progress, total};
}

TlsIoResult TlsStream::io_failure(int ssl_error, bool reading) {
  switch (ssl_error) {
    case SSL_ERROR_WANT_READ: return {TlsIoStatus::would_block, 0, 0, WaitFor::readable};
    case SSL_ERROR_WANT_WRITE: return {TlsIoStatus::would_block, 0, 0, WaitFor::writable};
    case SSL_ERROR_ZERO_RETURN: return {TlsIoStatus::eof};
    default: break;
  }
  fatal_ = true;
  bool unexpected_eof = ERR_GET_LIB(oldest_error_code()) == ERR_LIB_SSL &&
                        ERR_GET_REASON(oldest_error_code()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
  bool quiet_syscall = ssl_error == SSL_ERROR_SYSCALL && oldest_error_code() == 0;
  int error_number = socket_.last_error;
  clear_errors();
  // The TCP connection ended without close_notify. (OpenSSL then tries to send an alert,
  // which fails with EPIPE: that errno says nothing more.)
  if (reading && (unexpected_eof || (quiet_syscall && error_number == 0))) return {TlsIoStatus::eof};
  if (error_number != 0) return {TlsIoStatus::failed, 0, error_number};
  return {TlsIoStatus::failed, 0, quiet_syscall ? EPIPE : EPROTO};
}

ShutdownStatus TlsStream::shutdown() {
  if (phase_ != Phase::established || fatal_ || shutdown_sent_) return ShutdownStatus::done;
  clear_errors();
  socket_.last_error = 0;
  int result = SSL_shutdown(ssl_.get());
  if (result >= 0) {
    shutdown_sent_ = true;
    return ShutdownStatus::done;
  }
  int ssl_error = SSL_get_error(ssl_.get(), result);
  clear_errors();
  if (ssl_error == SSL_ERROR_WANT_WRITE) return ShutdownStatus::want_write;
  if (ssl_error == SSL_ERROR_WANT_READ) {
    shutdown_sent_ = true;
    return ShutdownStatus::done;
  }
  fatal_ = true;
  return ShutdownStatus::failed;
}

bool TlsStream::has_buffered_input() const { return SSL_has_pending(ssl_.get()) == 1; }

bool TlsStream::peer_sent_close_notify() const { return (SSL_get_shutdown(ssl_.get()) & SSL_RECEIVED_SHUTDOWN) != 0; }

std::string_view TlsStream::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &length);
  return data == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(data), length);
}

std::string_view TlsStream::server_name() const {
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string_view() : std::string_view(name);
}

bool TlsStream::kernel_record_layer() const {
#ifndef OPENSSL_NO_KTLS
  return BIO_get_ktls_send(SSL_get_wbio(ssl_.get())) != 0 || BIO_get_ktls_recv(SSL_get_rbio(ssl_.get())) != 0;
#else
  return false;
#endif
}

bool TlsStream::resumed() const { return SSL_session_reused(ssl_.get()) == 1; }

std::string TlsStream::peer_subject() const {
  X509* peer = SSL_get0_peer_certificate(ssl_.get());
  if (peer == nullptr || SSL_get_verify_result(ssl_.get()) != X509_V_OK) return {};
  if ((SSL_get_verify_mode(ssl_.get()) & SSL_VERIFY_PEER) == 0) return {};
  return subject_rfc2253(peer);
}

const char* TlsStream::protocol() const { return SSL_get_version(ssl_.get()); }

const char* TlsStream::cipher() const { return SSL_get_cipher_name(ssl_.get()); }

SslSessionPtr TlsStream::resumable_session() const {
  SslSessionPtr session(SSL_get1_session(ssl_.get()));
  if (session && SSL_SESSION_is_resumable(session.get()) == 1) return session;
  return nullptr;
}

}  // namespace lb::tls
