// One TLS connection over a non-blocking socket the caller owns (and closes), server side
// (accept) or client side (connect, towards a backend). Never blocks: every call returns
// what to wait for. The stream does not move once created (OpenSSL's callbacks and the
// BIO point into it), hence the factories return a unique_ptr.
//
// Edge-triggered epoll rules for the caller:
// - handshake(), read() and write() consume socket events: call them until they say
//   want_*/would_block before waiting for the next edge.
// - A short read does NOT mean the socket is drained: OpenSSL reads one record at a time
//   and may keep decrypted bytes that did not fit the caller's buffer. Keep reading until
//   would_block. A caller that stops early (backpressure) must, when it resumes, read at
//   once instead of waiting for an edge; has_buffered_input() says whether bytes are
//   already waiting inside OpenSSL.
// - After a write() returned would_block, the next write() must offer the same bytes
//   first (more may follow); OpenSSL has part of them sealed in a pending record.
// - A read may want the socket writable and a write may want it readable (wait_for).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tls/openssl_ptr.h"
#include "tls/socket_bio.h"
#include "tls/ticket_keys.h"
#include "tls/tls_client_context.h"
#include "tls/tls_io.h"
#include "tls/tls_server_context.h"

namespace lb::tls {

enum class HandshakeStatus : uint8_t { done, want_read, want_write, failed };

// Why a handshake failed, for the caller's decision (a 400 for http_request, a counter
// per kind) and, with failure_reason(), for logs.
enum class HandshakeFailure : uint8_t {
  none,
  not_tls,           // the first bytes are no TLS handshake record
  http_request,      // a plaintext HTTP request on the TLS port: answer 400 and close
  peer_closed,       // the peer closed (or reset) before the handshake finished
  peer_certificate,  // the peer's certificate is missing or did not verify
  alert_received,    // the peer refused us (e.g. "tlsv1 alert unknown ca")
  version,           // no protocol version in common ("unsupported protocol")
  no_shared_cipher,  // no cipher suite, group or signature algorithm in common
  protocol,          // any other protocol error
  io_error,          // the socket failed (errno in failure_errno())
};
const char* to_string(HandshakeFailure failure);

enum class ShutdownStatus : uint8_t {
  done,        // close_notify is on its way (or there is nothing to say): close the socket
  want_write,  // call again once the socket is writable
  failed,      // the socket failed: close it
};

class TlsStream {
 public:
  // A server-side connection on accepted socket `fd`. Tickets use `ring` (the worker's own,
  // outliving the stream; nullptr: no tickets). `challenges`: the TLS-ALPN-01 challenges
  // pending now (kept alive for the handshake; nullptr for none). nullptr only when out
  // of memory.
  static std::unique_ptr<TlsStream> accept(std::shared_ptr<const TlsServerContext> context, int fd,
                                           const TicketKeyRing* ring,
                                           std::shared_ptr<const AcmeAlpnChallenges> challenges = nullptr);
  // A client-side connection on connected (or connecting) socket `fd`; see
  // TlsClientContext::new_connection for `server_name` and `session`.
  static std::unique_ptr<TlsStream> connect(std::shared_ptr<const TlsClientContext> context, int fd,
                                            std::string_view server_name, SSL_SESSION* session, std::string& error);

  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  ~TlsStream();

  HandshakeStatus handshake();
  bool established() const { return phase_ == Phase::established; }
  HandshakeFailure failure() const { return failure_; }
  // A short static text for logs ("no shared cipher", "http request on a TLS port").
  const char* failure_reason() const { return failure_reason_; }
  int failure_errno() const { return failure_errno_; }

  TlsIoResult read(char* into, size_t capacity);
  TlsIoResult write(const iovec* parts, int count);
  // After a write() that returned would_block (or progress short of what was offered):
  // how many bytes from where it stopped OpenSSL has already sealed into a record, part
  // of which may be on the wire. The next write() must offer at least these, unchanged;
  // 0 when nothing is pending.
  size_t pending_write_bytes() const { return pending_write_bytes_; }
  // Sends close_notify without waiting for the peer's.
  ShutdownStatus shutdown();

  // Decrypted or received bytes are waiting inside OpenSSL (no socket event will come).
  bool has_buffered_input() const;
  // Whether the peer's close was a TLS close_notify (false: the TCP connection just ended,
  // which for a response delimited by the connection's end means it may be truncated).
  bool peer_sent_close_notify() const;

  // After the handshake:
  std::string_view alpn() const;         // "" when the client offered no ALPN: HTTP/1.1
  std::string_view server_name() const;  // the SNI name ("" when none was sent)
  bool resumed() const;
  // OpenSSL handed the record layer (either direction) to the kernel (kTLS). Never with an
  // OpenSSL built without kTLS, such as the one inside node.
  bool kernel_record_layer() const;
  // The verified peer certificate's subject as RFC 2253 ("CN=client,O=Example"), or ""
  // when the peer sent none or it was not verified.
  std::string peer_subject() const;
  const char* protocol() const;  // "TLSv1.3"
  const char* cipher() const;    // "TLS_AES_128_GCM_SHA256"
  // Client side: the session to offer on the next connection to the same backend, or
  // nullptr. With TLS 1.3 the server's ticket arrives after the handshake, so ask once the
  // first response has been read.
  SslSessionPtr resumable_session() const;
  // The context (TlsServerContext or TlsClientContext) it was made from, alive as long
  // as the stream: a reload that replaced it is seen by comparing addresses.
  const void* context() const { return context_.get(); }

 private:
  enum class Phase : uint8_t { classifying, handshaking, established, failed };

  TlsStream() = default;
  bool attach(SslPtr ssl, const BIO_METHOD* method, int fd);
  HandshakeStatus classify_first_bytes_on_socket();
  HandshakeStatus fail(HandshakeFailure failure, const char* reason, int error_number = 0);
  HandshakeStatus fail_from_openssl(int ssl_error);
  TlsIoResult io_failure(int ssl_error, bool reading);

  // Keeps the context (and so the callbacks' data and the BIO method) alive.
  std::shared_ptr<const void> context_;
  // The challenges the server name callback may switch to, while the handshake runs.
  std::shared_ptr<const AcmeAlpnChallenges> challenges_;
  SocketBioState socket_;
  SslPtr ssl_;
  Phase phase_ = Phase::handshaking;
  bool fatal_ = false;  // OpenSSL failed: no close_notify may be sent
  bool shutdown_sent_ = false;
  size_t pending_write_bytes_ = 0;
  HandshakeFailure failure_ = HandshakeFailure::none;
  const char* failure_reason_ = "";
  int failure_errno_ = 0;
};

}  // namespace lb::tls
