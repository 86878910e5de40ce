// One backend as one worker's upstream group keeps it: what strategies choose from
// (balancing::BackendRuntime) plus what only connections and reports need: its idle
// pool, its open connections, and the bookkeeping of drain and error events.
#pragma once

#include <cstdint>

#include "balancing/backend_runtime.h"
#include "tls/openssl_ptr.h"
#include "upstream/backend_queue.h"
#include "upstream/backend_tls.h"
#include "upstream/connection_pool.h"

namespace lb::upstream {

struct UpstreamBackend : balancing::BackendRuntime {
  ConnectionPool pool;
  uint32_t open_connections = 0;  // connecting, attached or idle
  bool drained_reported = false;  // backend-drained already sent for this drain
  // backend-error events: when the last one went out, and how many were held back since.
  uint64_t error_reported_ms = 0;
  uint32_t errors_unreported = 0;
  // Requests of this worker waiting for a slot (spec.max_connections reached).
  BackendQueue waiting;
  // TLS towards it (off when `tls.enabled()` is false), and the session of its last TLS
  // connection on this worker, offered to the next one for resumption.
  BackendTls tls;
  tls::SslSessionPtr tls_session;
  // Why the last TLS handshake with it failed (static text), for the backend-error event.
  const char* tls_failure_reason = nullptr;
};

}  // namespace lb::upstream
