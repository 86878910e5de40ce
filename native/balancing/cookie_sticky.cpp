#include "balancing/cookie_sticky.h"

namespace lb::balancing {

BackendRuntime* CookieSticky::pick(std::span<BackendRuntime* const> backends, const PickRequest& request) {
  if (request.has_sticky) {
    for (BackendRuntime* backend : backends) {
      if (backend->identity == request.sticky_identity && request.usable(backend)) return backend;
    }
  }
  return fallback_->pick(backends, request);
}

}  // namespace lb::balancing
