// Sticky sessions: the balancer sets a cookie naming the backend that served a client
// (by its address identity, never its address), and honours it while that backend is
// usable; otherwise (first visit, or its backend is down or draining) the fallback
// strategy picks and the response carries a new cookie.
#pragma once

#include "balancing/strategy.h"

namespace lb::balancing {

class CookieSticky final : public Strategy {
 public:
  explicit CookieSticky(std::unique_ptr<Strategy> fallback) : fallback_(std::move(fallback)) {}
  BackendRuntime* pick(std::span<BackendRuntime* const> backends, const PickRequest& request) override;

 private:
  std::unique_ptr<Strategy> fallback_;
};

}  // namespace lb::balancing
