// A byte queue over one pooled block: bytes are appended at the end and consumed from
// the front. The block is taken lazily on first write and returned when the queue
// empties (release_if_empty), so idle connections hold none. While it holds no block it
// may be switched to another pool (larger blocks for a streaming body): the switch takes
// that pool's block at once, so a capped pool's blocks_in_use() counts every switched
// buffer; releasing the block points it back at its own pool.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>
#include <utility>

#include "buffer/buffer_pool.h"

namespace lb::buffer {

class ByteBuffer {
 public:
  static constexpr size_t kCapacity = BufferPool::kBlockSize;

  ByteBuffer() = default;
  ~ByteBuffer() { release(); }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  void attach_pool(BufferPool* pool) {
    home_pool_ = pool;
    pool_ = pool;
    capacity_ = static_cast<uint32_t>(pool->block_size());
  }
  // Takes a block from `pool` now (only while it holds none) and uses that pool until
  // released. Taking it at the switch, not at the first write, is what lets a caller cap
  // the pool by its blocks_in_use(): a switched but still empty buffer is counted.
  void use_pool(BufferPool* pool) {
    if (block_) return;
    pool_ = pool;
    capacity_ = static_cast<uint32_t>(pool->block_size());
    block_ = pool->take();
  }
  size_t capacity() const { return capacity_; }
  bool uses_pool(const BufferPool* pool) const { return pool_ == pool; }

  const char* data() const { return block_ + begin_; }
  char* mutable_data() { return block_ + begin_; }
  // Drops the last `n` bytes (used when bytes are rewritten in place).
  void drop_back(size_t n) {
    end_ -= static_cast<uint32_t>(n);
    if (begin_ == end_) begin_ = end_ = 0;
  }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  std::string_view view() const { return {data(), size()}; }

  // Room at the end, after moving unread bytes to the front if that makes more room.
  char* write_ptr() {
    ensure_block();
    if (begin_ > 0 && end_ == capacity_) compact();
    return block_ + end_;
  }
  size_t write_space() const { return block_ ? capacity_ - end_ + begin_ : capacity_; }
  size_t contiguous_write_space() const { return block_ ? capacity_ - end_ : capacity_; }
  void commit(size_t n) { end_ += n; }

  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  bool append(std::string_view bytes) {
    if (bytes.empty()) return true;  // an empty view may have a null data()
    if (bytes.size() > write_space()) return false;
    ensure_block();
    if (bytes.size() > capacity_ - end_) compact();
    std::memcpy(block_ + end_, bytes.data(), bytes.size());
    end_ += bytes.size();
    return true;
  }

  void compact() {
    if (begin_ == 0) return;
    std::memmove(block_, block_ + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }

  void clear() { begin_ = end_ = 0; }

  // Gives the block back when nothing is buffered (and points back at its own pool, even
  // if a switch to another pool was never used).
  void release_if_empty() {
    if (begin_ == end_) release();
  }

  void release() {
    if (block_) pool_->give(block_);
    block_ = nullptr;
    begin_ = end_ = 0;
    if (pool_ != home_pool_) attach_pool(home_pool_);
  }

  bool has_block() const { return block_ != nullptr; }

 private:
  void ensure_block() {
    if (!block_) block_ = pool_->take();
  }

  BufferPool* home_pool_ = nullptr;
  BufferPool* pool_ = nullptr;
  uint32_t capacity_ = kCapacity;
  char* block_ = nullptr;
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
};

}  // namespace lb::buffer
