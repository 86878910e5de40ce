// What workers tell the control plane: events (ejections, recoveries, drains, errors) and
// sampled access-log records, each through its own bounded ring (see SpscRing).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>

#include "stats/spsc_ring.h"

namespace lb::stats {

enum class EventType : uint8_t {
  backend_ejected,
  backend_recovered,
  backend_drained,
  backend_error,  // a failed connect (code: the errno name)
  panic_routing,
  error,
};

struct Event {
  EventType type = EventType::error;
  uint16_t worker = 0;
  uint32_t backend_id = 0;
  uint32_t duration_ms = 0;  // backend_ejected: how long
  char code[32] = {};
  char message[160] = {};

  void set_code(const char* text) { copy_truncated(code, sizeof(code), text); }
  void set_message(const char* text) { copy_truncated(message, sizeof(message), text); }

 private:
  static void copy_truncated(char* out, size_t capacity, const char* text) {
    size_t length = std::strlen(text);
    if (length >= capacity) length = capacity - 1;
    std::memcpy(out, text, length);
    out[length] = '\0';
  }
};

using EventRing = SpscRing<Event, 1024>;

// One access-log record, copied out of a finished exchange (only for sampled requests).
struct AccessRecord {
  uint64_t unix_ms = 0;
  uint32_t backend_id = 0;  // 0 with has_backend false: answered by the balancer itself
  bool has_backend = false;
  uint16_t status = 0;
  uint16_t worker = 0;
  uint32_t time_to_first_byte_us = 0;
  uint32_t total_us = 0;
  uint64_t bytes_to_client = 0;
  char client[46] = {};
  char method[16] = {};
  char target[256] = {};
};

using AccessLogRing = SpscRing<AccessRecord, 4096>;

}  // namespace lb::stats
