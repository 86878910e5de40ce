// Turning this thread's OpenSSL error queue into words. OpenSSL reports failures by
// pushing codes onto a per-thread queue; every failing call site drains it here, so a
// stale entry never leaks into the next connection's SSL_get_error().
#pragma once

#include <string>

namespace lb::tls {

// The reason of the oldest queued error (the root cause, e.g. "key values mismatch"),
// or nullptr when the queue is empty. The string is OpenSSL's own static text.
const char* oldest_error_reason();

// Like oldest_error_reason(), then empties the queue. Returns `fallback` when it was empty.
const char* take_error_reason(const char* fallback);

// The packed code of the oldest queued error (0 when empty), leaving the queue alone.
unsigned long oldest_error_code();

// Empties this thread's queue.
void clear_errors();

// "<what> (OpenSSL: <reason>)" for configuration errors, draining the queue.
std::string describe_failure(const std::string& what);

}  // namespace lb::tls
