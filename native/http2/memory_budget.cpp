#include "http2/memory_budget.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace lb::http2 {

namespace {

// Each ordinary block carries its size in front, kept at malloc's alignment.
constexpr size_t kPrefix = alignof(std::max_align_t);
// nghttp2's outbound frame buffer: one chunk of frame header + padding byte + the largest
// payload (NGHTTP2_FRAMEBUF_CHUNKLEN, not in its public header). Only blocks of exactly
// this size are page-aligned and discardable: other large blocks (a grown stream map, say)
// hold state nghttp2 still reads when idle.
constexpr size_t kFrameBufferBytes = 9 + 1 + 16384;

size_t page_size() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t block_size(void* user_ptr) {
  size_t size = 0;
  std::memcpy(&size, static_cast<char*>(user_ptr) - kPrefix, sizeof size);
  return size;
}

void* to_user(void* block, size_t size) {
  std::memcpy(block, &size, sizeof size);
  return static_cast<char*>(block) + kPrefix;
}

}  // namespace

MemoryBudget::MemoryBudget(size_t limit_bytes) : limit_(limit_bytes) {
  mem_.mem_user_data = this;
  mem_.malloc = &MemoryBudget::allocate;
  mem_.free = &MemoryBudget::release;
  mem_.calloc = &MemoryBudget::allocate_zeroed;
  mem_.realloc = &MemoryBudget::reallocate;
}

bool MemoryBudget::charge(size_t bytes) {
  if (bytes > limit_ || in_use_ > limit_ - bytes) {
    ++refused_;
    return false;
  }
  in_use_ += bytes;
  if (in_use_ > peak_) peak_ = in_use_;
  return true;
}

MemoryBudget::LargeBlock* MemoryBudget::find_large(void* ptr) {
  for (LargeBlock& block : large_) {
    if (block.ptr == ptr) return &block;
  }
  return nullptr;
}

void* MemoryBudget::allocate_large(size_t size) {
  LargeBlock* slot = find_large(nullptr);
  if (!slot) return nullptr;
  if (!charge(size)) return nullptr;
  void* ptr = nullptr;
  if (posix_memalign(&ptr, page_size(), size) != 0) {
    in_use_ -= size;
    return nullptr;
  }
  *slot = {ptr, size};
  return ptr;
}

size_t MemoryBudget::discard_large_blocks() {
  size_t bytes = 0;
  for (const LargeBlock& block : large_) {
    const size_t whole_pages = block.size / page_size() * page_size();
    if (!block.ptr || whole_pages == 0) continue;
    if (madvise(block.ptr, whole_pages, MADV_DONTNEED) == 0) bytes += whole_pages;
  }
  return bytes;
}

void* MemoryBudget::allocate(size_t size, void* self_ptr) {
  auto* self = static_cast<MemoryBudget*>(self_ptr);
  if (size == kFrameBufferBytes) {
    if (void* large = self->allocate_large(size)) return large;
    // No free slot (or no page-aligned memory): an ordinary block, not discardable.
  }
  if (size > SIZE_MAX - kPrefix || !self->charge(size + kPrefix)) return nullptr;
  void* block = std::malloc(size + kPrefix);
  if (!block) {
    self->in_use_ -= size + kPrefix;
    return nullptr;
  }
  return to_user(block, size);
}

void MemoryBudget::release(void* ptr, void* self_ptr) {
  if (!ptr) return;
  auto* self = static_cast<MemoryBudget*>(self_ptr);
  if (LargeBlock* large = self->find_large(ptr)) {
    self->in_use_ -= large->size;
    *large = {};
    std::free(ptr);
    return;
  }
  self->in_use_ -= block_size(ptr) + kPrefix;
  std::free(static_cast<char*>(ptr) - kPrefix);
}

void* MemoryBudget::allocate_zeroed(size_t count, size_t size, void* self_ptr) {
  if (size != 0 && count > SIZE_MAX / size) return nullptr;
  void* ptr = allocate(count * size, self_ptr);
  if (ptr) std::memset(ptr, 0, count * size);
  return ptr;
}

void* MemoryBudget::reallocate(void* ptr, size_t size, void* self_ptr) {
  if (!ptr) return allocate(size, self_ptr);
  auto* self = static_cast<MemoryBudget*>(self_ptr);
  LargeBlock* large = self->find_large(ptr);
  if (large || size == kFrameBufferBytes) {
    // Into or out of a large block: a new block, the bytes copied over.
    const size_t old_size = large ? large->size : block_size(ptr);
    void* moved = allocate(size, self_ptr);
    if (!moved) return nullptr;
    std::memcpy(moved, ptr, std::min(old_size, size));
    release(ptr, self_ptr);
    return moved;
  }
  const size_t old_size = block_size(ptr);
  if (size > old_size) {
    if (size > SIZE_MAX - kPrefix || !self->charge(size - old_size)) return nullptr;
  }
  void* block = std::realloc(static_cast<char*>(ptr) - kPrefix, size + kPrefix);
  if (!block) {
    if (size > old_size) self->in_use_ -= size - old_size;
    return nullptr;
  }
  if (size < old_size) self->in_use_ -= old_size - size;
  return to_user(block, size);
}

}  // namespace lb::http2
