#include "addon/tls_context_cache.h"

namespace lb::addon {

namespace {

bool same_settings(const tls::TlsServerSettings& a, const tls::TlsServerSettings& b) {
  if (a.certificates.size() != b.certificates.size()) return false;
  for (size_t i = 0; i < a.certificates.size(); ++i) {
    if (a.certificates[i].cert_chain_pem != b.certificates[i].cert_chain_pem) return false;
    if (a.certificates[i].key_pem != b.certificates[i].key_pem) return false;
  }
  return a.awaiting_certificate == b.awaiting_certificate && a.alpn_protocols == b.alpn_protocols &&
         a.client_ca_pem == b.client_ca_pem && a.client_verify == b.client_verify &&
         a.session_cache_size == b.session_cache_size && a.session_timeout_seconds == b.session_timeout_seconds &&
         a.ktls == b.ktls;
}

}  // namespace

std::shared_ptr<const tls::TlsServerContext> TlsContextCache::resolve(const tls::TlsServerSettings& settings,
                                                                      std::string& error) {
  if (context_ && same_settings(settings, settings_)) return context_;
  auto context = tls::TlsServerContext::create(settings, error);
  if (!context) return nullptr;
  settings_ = settings;
  context_ = context;
  return context;
}

}  // namespace lb::addon
