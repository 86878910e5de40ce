#include "proxy/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace lb::proxy {

PipePool::~PipePool() {
  for (SplicePipe* pipe : free_) delete pipe;
}

SplicePipe* PipePool::take() {
  if (in_use_ >= max_in_use_) return nullptr;
  SplicePipe* pipe = nullptr;
  if (!free_.empty()) {
    pipe = free_.back();
    free_.pop_back();
  } else {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return nullptr;
    pipe = new SplicePipe();
    pipe->read_end.reset(fds[0]);
    pipe->write_end.reset(fds[1]);
  }
  ++in_use_;
  return pipe;
}

void PipePool::give(SplicePipe* pipe) {
  if (!pipe) return;
  --in_use_;
  if (pipe->held == 0 && free_.size() < max_free_) {
    free_.push_back(pipe);
  } else {
    delete pipe;
  }
}

}  // namespace lb::proxy
