// A counter with exactly one writer (its worker) and any number of readers (the control
// plane summing stats). The writer does a relaxed load and store, no locked instruction;
// readers see a value that is at most a few increments old, never a torn one.
#pragma once

#include <atomic>
#include <cstdint>

namespace lb::stats {

class Counter {
 public:
  void add(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  void set(uint64_t value) { value_.store(value, std::memory_order_relaxed); }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace lb::stats
