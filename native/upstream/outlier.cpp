// UpstreamGroup, passive health (outlier detection, Envoy's semantics): consecutive
// failures eject a backend for a time that grows with each ejection; successes, passing
// active checks and reaching rise readmit it; connect failures are also reported.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "upstream/upstream_group.h"

namespace lb::upstream {

size_t UpstreamGroup::ejected_count() const {
  size_t ejected = 0;
  for (const balancing::BackendRuntime* backend : ordered_) {
    if (backend->ejected(loop_.now_ms())) ++ejected;
  }
  return ejected;
}

void UpstreamGroup::report_failure(UpstreamBackend& backend, const char* reason) {
  const OutlierDetection& outlier = settings_->outlier;
  backend.consecutive_failures++;
  if (outlier.consecutive_failures == 0 || backend.consecutive_failures < outlier.consecutive_failures) {
    return;
  }
  uint64_t now = loop_.now_ms();
  if (backend.ejected(now)) return;
  // Envoy's cap: never eject so many that the rest could not carry the load.
  size_t total = ordered_.size();
  if ((ejected_count() + 1) * 100 > total * outlier.max_ejection_percent) return;
  // Each ejection lasts longer than the last, but time in service earns that back (one
  // step per base ejection time since the backend was last readmitted), and no ejection
  // lasts more than ten base times (Envoy's defaults: 30 s base, 300 s at most).
  uint64_t base = outlier.base_ejection_ms;
  if (base > 0 && now > backend.available_since_ms) {
    uint64_t earned = (now - backend.available_since_ms) / base;
    backend.ejections -= static_cast<uint32_t>(std::min<uint64_t>(earned, backend.ejections));
  }
  backend.ejections = std::min<uint32_t>(backend.ejections + 1, kMaxEjectionMultiplier);
  uint64_t duration = base * backend.ejections;
  backend.ejected_until_ms = now + duration;
  backend.available_since_ms = backend.ejected_until_ms;  // slow start begins after
  backend.awaiting_recovery = true;
  backend.consecutive_failures = 0;
  backend.counters->ejections.add();
  backend.counters->ejected_until_ms.set(backend.ejected_until_ms);
  char message[160];
  std::snprintf(message, sizeof(message), "%s: %u consecutive failures (last: %s)", backend.spec.label.c_str(),
                outlier.consecutive_failures, reason);
  emit_backend_event(stats::EventType::backend_ejected, backend, message,
                     static_cast<uint32_t>(std::min<uint64_t>(duration, UINT32_MAX)));
}

void UpstreamGroup::report_connect_failure(UpstreamBackend& backend, int error_number) {
  backend.counters->connect_errors.add();
  report_failure(backend, error_number == ETIMEDOUT                                         ? "connect timeout"
                          : error_number == EPROTO && backend.tls_failure_reason != nullptr ? "TLS handshake failed"
                                                                                            : "connect refused");
  uint64_t now = loop_.now_ms();
  if (backend.error_reported_ms != 0 && now - backend.error_reported_ms < 1000) {
    backend.errors_unreported++;
    return;
  }
  stats::Event event;
  event.type = stats::EventType::backend_error;
  event.worker = worker_index_;
  event.backend_id = backend.spec.id;
  const char* name = strerrorname_np(error_number);
  event.set_code(name ? name : "EIO");
  char message[160];
  if (error_number == ETIMEDOUT) {
    std::snprintf(message, sizeof(message), "connect to %s timed out (timeouts.connectMs)", backend.spec.label.c_str());
  } else if (error_number == EPROTO && backend.tls_failure_reason != nullptr) {
    std::snprintf(message, sizeof(message), "TLS handshake with %s failed: %s", backend.spec.label.c_str(),
                  backend.tls_failure_reason);
  } else {
    std::snprintf(message, sizeof(message), "connect to %s failed: %s", backend.spec.label.c_str(),
                  std::strerror(error_number));
  }
  if (backend.errors_unreported > 0) {
    size_t used = std::strlen(message);
    std::snprintf(message + used, sizeof(message) - used, " (and %u more since the last report)",
                  backend.errors_unreported);
  }
  event.set_message(message);
  emit(event);
  backend.error_reported_ms = now;
  backend.errors_unreported = 0;
}

void UpstreamGroup::report_success(UpstreamBackend& backend) {
  backend.consecutive_failures = 0;
  if (!backend.awaiting_recovery) return;
  if (backend.ejected(loop_.now_ms())) {
    // Tried in panic and it answered: it is back now, not when its ejection would end.
    readmit(backend, "answered while ejected");
    return;
  }
  backend.awaiting_recovery = false;
  emit_backend_event(stats::EventType::backend_recovered, backend, backend.spec.label.c_str());
}

void UpstreamGroup::clear_ejection(uint32_t backend_id) {
  auto it = backends_.find(backend_id);
  if (it == backends_.end()) return;
  UpstreamBackend& backend = *it->second;
  if (backend.awaiting_recovery || backend.ejected(loop_.now_ms())) readmit(backend, "active health check passed");
}

void UpstreamGroup::readmit(UpstreamBackend& backend, const char* why) {
  uint64_t now = loop_.now_ms();
  backend.ejected_until_ms = 0;
  backend.counters->ejected_until_ms.set(0);
  backend.available_since_ms = now;  // slow start, if any, ramps from now
  backend.awaiting_recovery = false;
  backend.consecutive_failures = 0;
  char message[160];
  std::snprintf(message, sizeof(message), "%s: %s", backend.spec.label.c_str(), why);
  emit_backend_event(stats::EventType::backend_recovered, backend, message);
}

}  // namespace lb::upstream
