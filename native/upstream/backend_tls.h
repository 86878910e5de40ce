// How one backend is spoken to over TLS: the client context (one per distinct verify/CA
// setting, built by the addon and shared read-only by every worker and snapshot that names
// it) and the name sent as SNI and checked against the backend's certificate.
#pragma once

#include <memory>
#include <string>

#include "tls/tls_client_context.h"

namespace lb::upstream {

struct BackendTls {
  // nullptr: plain HTTP to this backend.
  std::shared_ptr<const tls::TlsClientContext> context;
  // A DNS name (sent as SNI and verified) or an IP address (verified only); empty: the
  // chain alone is verified.
  std::string server_name;

  bool enabled() const { return context != nullptr; }
  bool operator==(const BackendTls& other) const {
    return context == other.context && server_name == other.server_name;
  }
};

}  // namespace lb::upstream
