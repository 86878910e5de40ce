// nghttp2's allocator for one session, charged to a byte budget: HPACK tables, queued
// frames and stream state of one client connection can never grow past it. An allocation
// over the budget fails, nghttp2 reports NGHTTP2_ERR_NOMEM, and the session ends the
// connection (Defence::memory_budget). Also what the bench reads for "bytes per h2
// connection".
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>

namespace lb::http2 {

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t limit_bytes);
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // The allocator to hand to nghttp2; valid as long as this object.
  nghttp2_mem* allocator() { return &mem_; }

  size_t in_use() const { return in_use_; }
  size_t peak() const { return peak_; }
  bool refused_any() const { return refused_ > 0; }

 private:
  static void* allocate(size_t size, void* self);
  static void release(void* ptr, void* self);
  static void* allocate_zeroed(size_t count, size_t size, void* self);
  static void* reallocate(void* ptr, size_t size, void* self);

  bool charge(size_t bytes);

  nghttp2_mem mem_;
  size_t limit_;
  size_t in_use_ = 0;
  size_t peak_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace lb::http2
