// One listener's TLS context, built from the PEM the control plane passes with each
// configuration (the balancer object keeps one cache per listener). Every update() carries the whole configuration,
// certificates included, so the last settings and their context are kept: an update that changes no TLS setting (a
// backend weight, a health change) reuses the context, and with it the session-ID cache.
#pragma once

#include <memory>
#include <string>

#include "tls/tls_server_context.h"

namespace lb::addon {

class TlsContextCache {
 public:
  // The context for `settings`: the previous one if nothing changed, else a new one
  // (nullptr with `error` naming the problem; the previous one is kept then).
  std::shared_ptr<const tls::TlsServerContext> resolve(const tls::TlsServerSettings& settings, std::string& error);

 private:
  tls::TlsServerSettings settings_;
  std::shared_ptr<const tls::TlsServerContext> context_;
};

}  // namespace lb::addon
