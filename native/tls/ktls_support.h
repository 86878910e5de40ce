// Whether kernel TLS (the "tls" TCP upper-layer protocol) can carry a connection's record
// layer here: the kernel must offer the ULP and the linked OpenSSL must be built with kTLS
// (SSL_OP_ENABLE_KTLS). Probed once when a balancer starts; each established connection is
// then counted on the path it took and, for user space, why (stats::TlsUserspaceReason).
#pragma once

#include <string>

namespace lb::tls {

struct KtlsSupport {
  bool kernel = false;   // setting TCP_ULP "tls" is possible
  bool openssl = false;  // the linked OpenSSL was built with kTLS
  // Why not, in words (empty when both are there): "the kernel offers no tls ULP
  // (setsockopt TCP_ULP: No such file or directory)", "OpenSSL built without kTLS".
  std::string detail;

  bool usable() const { return kernel && openssl; }
};

// Probes the kernel with a fresh, unconnected TCP socket: ENOENT means no "tls" ULP
// (module absent), ENOTCONN means the ULP exists but wants an established connection.
KtlsSupport detect_ktls_support();

}  // namespace lb::tls
