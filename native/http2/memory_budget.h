// nghttp2's allocator for one session, charged to a byte budget: HPACK tables, queued
// frames and stream state of one client connection can never grow past it. An allocation
// over the budget fails, nghttp2 reports NGHTTP2_ERR_NOMEM, and the session ends the
// connection (Defence::memory_budget). Also what the bench reads for "bytes per h2
// connection".
//
// nghttp2's outbound frame buffer (16,394 bytes, held for the session's whole life) is
// page-aligned, so that an idle connection can hand its pages back to the kernel
// (discard_large_blocks): the buffer is scratch between frames, and an idle h2 connection
// then keeps no resident page of it. No other block is discarded: their contents matter.
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

  // Gives the pages of the frame-buffer blocks back to the kernel (madvise MADV_DONTNEED: they
  // read as zeros when next touched). Only while nghttp2 holds nothing in them: no output
  // pending. Returns the bytes handed back.
  size_t discard_large_blocks();

  size_t in_use() const { return in_use_; }
  size_t peak() const { return peak_; }
  bool refused_any() const { return refused_ > 0; }

 private:
  static void* allocate(size_t size, void* self);
  static void release(void* ptr, void* self);
  static void* allocate_zeroed(size_t count, size_t size, void* self);
  static void* reallocate(void* ptr, size_t size, void* self);

  bool charge(size_t bytes);
  void* allocate_large(size_t size);
  // The large block at `ptr`, or nullptr when `ptr` is an ordinary (size-prefixed) one.
  struct LargeBlock {
    void* ptr = nullptr;
    size_t size = 0;
  };
  LargeBlock* find_large(void* ptr);
  // nghttp2 keeps one frame buffer (a few while a frame is larger); beyond these slots a
  // large block is allocated as an ordinary one.
  static constexpr size_t kLargeSlots = 4;

  nghttp2_mem mem_;
  size_t limit_;
  size_t in_use_ = 0;
  size_t peak_ = 0;
  uint64_t refused_ = 0;
  LargeBlock large_[kLargeSlots];
};

}  // namespace lb::http2
