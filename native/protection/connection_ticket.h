// A connection's place in the process-wide per-client count: released when the
// connection object goes (RAII), whatever path closed it.
#pragma once

#include <cstdint>
#include <memory>

#include "protection/edge_rules.h"

namespace lb::protection {

class ConnectionTicket {
 public:
  ConnectionTicket() = default;
  ConnectionTicket(std::shared_ptr<EdgeShared> shared, uint32_t slot) : shared_(std::move(shared)), slot_(slot) {}
  ~ConnectionTicket() { release(); }
  ConnectionTicket(ConnectionTicket&& other) noexcept : shared_(std::move(other.shared_)), slot_(other.slot_) {}
  ConnectionTicket& operator=(ConnectionTicket&& other) noexcept {
    if (this != &other) {
      release();
      shared_ = std::move(other.shared_);
      slot_ = other.slot_;
    }
    return *this;
  }
  ConnectionTicket(const ConnectionTicket&) = delete;
  ConnectionTicket& operator=(const ConnectionTicket&) = delete;

  void release() {
    if (shared_) shared_->connections().release(slot_);
    shared_.reset();
  }
  bool held() const { return shared_ != nullptr; }

 private:
  std::shared_ptr<EdgeShared> shared_;
  uint32_t slot_ = 0;
};

}  // namespace lb::protection
