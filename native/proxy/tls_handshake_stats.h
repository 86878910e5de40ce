// How a client connection's TLS handshake is counted: full or resumed, the record-layer
// path it then takes, or why it failed. One home for the mapping from the stream's own
// failure kinds to the reasons operators see (stats and Prometheus).
#pragma once

#include "stats/tls_counters.h"
#include "tls/ktls_support.h"
#include "tls/tls_stream.h"

namespace lb::proxy {

inline stats::TlsHandshakeFailure failure_kind_of(tls::HandshakeFailure failure) {
  switch (failure) {
    case tls::HandshakeFailure::version: return stats::TlsHandshakeFailure::version;
    case tls::HandshakeFailure::no_shared_cipher: return stats::TlsHandshakeFailure::no_shared_cipher;
    case tls::HandshakeFailure::peer_certificate: return stats::TlsHandshakeFailure::client_certificate;
    case tls::HandshakeFailure::not_tls:
    case tls::HandshakeFailure::http_request: return stats::TlsHandshakeFailure::not_tls;
    case tls::HandshakeFailure::peer_closed: return stats::TlsHandshakeFailure::closed;
    case tls::HandshakeFailure::none:
    case tls::HandshakeFailure::alert_received:
    case tls::HandshakeFailure::protocol:
    case tls::HandshakeFailure::io_error: break;
  }
  return stats::TlsHandshakeFailure::other;
}

// A finished handshake: full or resumed, then where its record layer runs. The record
// layer stays in OpenSSL unless kTLS was asked for and both the kernel and the linked
// OpenSSL can take it; the reason is counted either way.
inline void count_established(const tls::TlsStream& stream, bool ktls_wanted, const tls::KtlsSupport& support,
                              stats::TlsCounters& counters) {
  if (stream.resumed()) {
    counters.handshakes_resumed.add();
  } else {
    counters.handshakes_full.add();
  }
  if (stream.kernel_record_layer()) {
    counters.record_layer_ktls.add();
  } else if (!ktls_wanted) {
    counters.count_userspace(stats::TlsUserspaceReason::ktls_off);
  } else if (!support.kernel) {
    counters.count_userspace(stats::TlsUserspaceReason::no_kernel_tls);
  } else {
    counters.count_userspace(stats::TlsUserspaceReason::openssl_declined);
  }
}

}  // namespace lb::proxy
