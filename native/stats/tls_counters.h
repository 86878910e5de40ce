// TLS counters of one worker (one writer; the control plane sums the workers): how
// handshakes ended and which record-layer path established connections took.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stats/counter.h"

namespace lb::stats {

// Why a client's handshake failed, as operators ask it (the order is the stats' order).
enum class TlsHandshakeFailure : uint8_t {
  timeout,             // silent or stalled past the handshake timeout
  version,             // no protocol version in common (TLS 1.0/1.1 clients, say)
  no_shared_cipher,    // no cipher suite, group or signature algorithm in common
  client_certificate,  // mTLS: a client certificate missing or not verified
  not_tls,             // garbage or plain HTTP instead of a ClientHello
  closed,              // the client closed or reset mid-handshake
  other,               // any other protocol error, alert or socket error
};
inline constexpr size_t kTlsHandshakeFailureKinds = 7;

// Why an established connection's record layer stayed in user space.
enum class TlsUserspaceReason : uint8_t {
  ktls_off,          // kTLS is opt-in and not switched on
  no_kernel_tls,     // the kernel offers no "tls" TCP ULP (detected at start)
  openssl_declined,  // OpenSSL did not hand the keys over (cipher or version not offloadable)
};
inline constexpr size_t kTlsUserspaceReasons = 3;

struct TlsCounters {
  Counter handshakes_full;
  Counter handshakes_resumed;
  Counter handshake_failures[kTlsHandshakeFailureKinds];
  // Where the record layer of an established connection runs: in the kernel (kTLS, both
  // directions or one), or in OpenSSL, counted by why not in the kernel.
  Counter record_layer_ktls;
  Counter record_layer_userspace[kTlsUserspaceReasons];

  void count_failure(TlsHandshakeFailure kind) { handshake_failures[static_cast<size_t>(kind)].add(); }
  void count_userspace(TlsUserspaceReason why) { record_layer_userspace[static_cast<size_t>(why)].add(); }
};

// The sum over workers, as Balancer::stats reports it.
struct TlsTotals {
  uint64_t handshakes_full = 0, handshakes_resumed = 0, handshake_failures[kTlsHandshakeFailureKinds] = {},
           record_layer_ktls = 0, record_layer_userspace[kTlsUserspaceReasons] = {};

  void add(const TlsCounters& c) {
    handshakes_full += c.handshakes_full.get();
    handshakes_resumed += c.handshakes_resumed.get();
    for (size_t i = 0; i < kTlsHandshakeFailureKinds; ++i) handshake_failures[i] += c.handshake_failures[i].get();
    record_layer_ktls += c.record_layer_ktls.get();
    for (size_t i = 0; i < kTlsUserspaceReasons; ++i) record_layer_userspace[i] += c.record_layer_userspace[i].get();
  }
};

}  // namespace lb::stats
