#include "http2/memory_budget.h"

#include <cstdlib>
#include <cstring>

namespace lb::http2 {

namespace {

// Each block carries its size in front, kept at malloc's alignment.
constexpr size_t kPrefix = alignof(std::max_align_t);

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

void* MemoryBudget::allocate(size_t size, void* self_ptr) {
  auto* self = static_cast<MemoryBudget*>(self_ptr);
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
