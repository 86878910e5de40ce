// Pipes for splice(2), one pool per worker (so no locking). A body that moves by splice
// takes a pipe while bytes are in it and gives it back as soon as it is empty, so idle
// connections, and connections whose bodies are copied, hold none. The number of pipes
// in use is bounded (each is two descriptors and up to a pipe's capacity of kernel
// memory): when the bound is reached, bodies are copied through buffers instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "reactor/unique_fd.h"

namespace lb::proxy {

struct SplicePipe {
  reactor::UniqueFd read_end;
  reactor::UniqueFd write_end;
  size_t held = 0;  // bytes spliced in and not yet out
};

class PipePool {
 public:
  // The default pipe capacity (16 pages): what one splice step moves at most.
  static constexpr size_t kPipeCapacity = 64 * 1024;

  explicit PipePool(size_t max_in_use = 256, size_t max_free = 32) : max_in_use_(max_in_use), max_free_(max_free) {}
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // nullptr when the bound is reached or the kernel refuses a pipe (descriptors out).
  SplicePipe* take();
  // A pipe still holding bytes is closed (its bytes belong to an exchange that ended);
  // an empty one is kept for the next body, up to max_free.
  void give(SplicePipe* pipe);

  // From the configuration; pipes in use beyond a lowered bound are given back as usual.
  void set_max_in_use(size_t max_in_use) { max_in_use_ = max_in_use; }
  size_t in_use() const { return in_use_; }
  size_t free_pipes() const { return free_.size(); }

 private:
  std::vector<SplicePipe*> free_;
  size_t max_in_use_;
  size_t max_free_;
  size_t in_use_ = 0;
};

}  // namespace lb::proxy
