// TLS towards backends: reads each backend's `tls` section ({ verify, ca?, serverName? },
// the control plane having read the CA file) and gives every backend with the same
// verify/CA setting the same client context. The contexts of the last configuration are
// kept, so an update that changes no TLS setting (a weight, a health change) hands the
// workers the very same contexts, and their saved sessions stay usable.
#pragma once

#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tls/tls_client_context.h"
#include "upstream/backend_tls.h"

namespace lb::addon {

class BackendTlsContexts {
 public:
  // Fills `out` (one entry per element of `object.backends`; plain HTTP where a backend
  // has no `tls`). False with `error` naming the field (`backends[2].tls.ca: ...`).
  bool read(const Napi::Object& object, bool tcp_mode, std::vector<upstream::BackendTls>& out, std::string& error);

 private:
  using Key = std::pair<bool, std::string>;  // verify, CA PEM ("" : the system's store)
  std::map<Key, std::shared_ptr<const tls::TlsClientContext>> contexts_;
};

}  // namespace lb::addon
