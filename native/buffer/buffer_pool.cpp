#include "buffer/buffer_pool.h"

#include <cstdlib>

namespace lb::buffer {

BufferPool::~BufferPool() {
  for (char* block : free_) std::free(block);
}

char* BufferPool::take() {
  ++in_use_;
  if (!free_.empty()) {
    char* block = free_.back();
    free_.pop_back();
    return block;
  }
  void* block = std::malloc(block_size_);
  if (!block) std::abort();  // no exceptions; running out of memory is fatal anyway
  return static_cast<char*>(block);
}

void BufferPool::give(char* block) {
  --in_use_;
  // Keep a bounded number of free blocks; beyond that, return memory to the allocator so
  // a burst does not pin its peak forever.
  if (free_.size() < max_free_) {
    free_.push_back(block);
  } else {
    std::free(block);
  }
}

}  // namespace lb::buffer
