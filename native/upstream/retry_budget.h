// The retry budget of one worker (Finagle's and Envoy's idea): every request pays in a
// share of a retry, every retry takes one, and a floor of retries per second is always
// allowed, so a burst of failures after a quiet period can still be retried while a
// struggling fleet never sees its load multiplied.
#pragma once

#include <cstdint>

#include "upstream/upstream_settings.h"

namespace lb::upstream {

class RetryBudget {
 public:
  // A new request (not a retry of one) pays in its share.
  void on_request(const RetryPolicy& policy);
  // Takes a retry if the budget allows one now.
  bool try_take(const RetryPolicy& policy, uint64_t now_ms);

 private:
  double tokens_ = 0;
  uint64_t refilled_ms_ = 0;
};

}  // namespace lb::upstream
