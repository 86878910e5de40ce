#include "upstream/retry_budget.h"

namespace lb::upstream {

void RetryBudget::on_request(const RetryPolicy& policy) { tokens_ += policy.budget_percent / 100.0; }

bool RetryBudget::try_take(const RetryPolicy& policy, uint64_t now_ms) {
  // The floor: min_per_second retries a second are always allowed, banked for ten
  // seconds (a full bank at start); beyond that, retries live on what requests paid in.
  double cap = policy.min_per_second * 10.0 + 100.0;
  if (refilled_ms_ == 0) {
    refilled_ms_ = now_ms;
    tokens_ = cap;
  }
  tokens_ += policy.min_per_second * static_cast<double>(now_ms - refilled_ms_) / 1000.0;
  refilled_ms_ = now_ms;
  if (tokens_ > cap) tokens_ = cap;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace lb::upstream
