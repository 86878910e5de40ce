#include "proxy/exchange_outcome.h"

#include <cstddef>

namespace lb::proxy {

namespace {
// Indexed by Outcome.
constexpr OutcomeRule kRules[] = {
    {"bad_request", 400, Tally::bad_requests, nullptr},
    {"uri_too_long", 414, Tally::bad_requests, nullptr},
    {"head_too_large", 431, Tally::bad_requests, nullptr},
    {"body_too_large", 413, Tally::bad_requests, nullptr},
    {"version_not_supported", 505, Tally::bad_requests, nullptr},
    {"method_not_allowed", 405, Tally::bad_requests, nullptr},
    {"client_timeout", 408, Tally::bad_requests, nullptr},
    {"no_backend", 503, Tally::no_backend, nullptr},
    {"tries_exhausted", 502, Tally::bad_gateway, nullptr},
    {"backend_failed", 502, Tally::bad_gateway, "closed or reset before a full response"},
    {"bad_response", 502, Tally::bad_gateway, "a response that cannot be passed on"},
    {"response_timeout", 504, Tally::gateway_timeout, "response timeout"},
};
static_assert(sizeof(kRules) / sizeof(kRules[0]) == static_cast<std::size_t>(Outcome::response_timeout) + 1);
}  // namespace

const OutcomeRule& rule_of(Outcome outcome) { return kRules[static_cast<std::size_t>(outcome)]; }

const char* to_string(Outcome outcome) { return rule_of(outcome).name; }

Outcome outcome_of_request_status(uint16_t status) {
  switch (status) {
    case 413: return Outcome::body_too_large;
    case 414: return Outcome::uri_too_long;
    case 431: return Outcome::head_too_large;
    case 505: return Outcome::version_not_supported;
    default: return Outcome::bad_request;
  }
}

}  // namespace lb::proxy
