// Fixed-size blocks for connection buffers, one pool per worker (so no locking).
// Connections take a block only while bytes are in flight and give it back as soon as
// it is empty, so an idle keep-alive connection costs no buffer memory. A worker has two:
// 16 KiB blocks for heads and short bodies, and larger ones, fewer, for streaming bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lb::buffer {

class BufferPool {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;

  explicit BufferPool(size_t max_free_blocks = 256, size_t block_size = kBlockSize)
      : max_free_(max_free_blocks), block_size_(block_size) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  char* take();
  void give(char* block);

  size_t block_size() const { return block_size_; }
  size_t blocks_in_use() const { return in_use_; }
  size_t free_blocks() const { return free_.size(); }

 private:
  std::vector<char*> free_;
  size_t max_free_;
  size_t block_size_;
  size_t in_use_ = 0;
};

}  // namespace lb::buffer
