// A bounded single-producer single-consumer ring: a worker pushes, the control plane
// drains. The worker never waits: when the ring is full the item is dropped (and the
// caller counts it). The consumer is told to drain through `notify`, called only when no
// drain is already pending, so a burst costs one wake-up.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace lb::stats {

template <typename Item, uint32_t Capacity>
class SpscRing {
 public:
  SpscRing() : slots_(std::make_unique<Item[]>(Capacity)) {}

  // Producer side. False (and the item is lost) when the ring is full.
  bool push(const Item& item) {
    uint32_t head = head_.load(std::memory_order_relaxed);
    uint32_t tail = tail_.load(std::memory_order_acquire);
    if (head - tail == Capacity) return false;
    slots_[head % Capacity] = item;
    head_.store(head + 1, std::memory_order_release);
    if (!drain_pending_.exchange(true, std::memory_order_acq_rel) && notify_) notify_();
    return true;
  }

  // Consumer side: clears the pending flag first, so an item pushed during the drain
  // triggers a new notification rather than being stranded.
  template <typename Visit>
  void drain(Visit&& visit) {
    drain_pending_.store(false, std::memory_order_seq_cst);
    uint32_t tail = tail_.load(std::memory_order_relaxed);
    uint32_t head = head_.load(std::memory_order_acquire);
    while (tail != head) {
      visit(slots_[tail % Capacity]);
      ++tail;
    }
    tail_.store(tail, std::memory_order_release);
  }

  // Set before the producer starts; called from the producer's thread.
  void set_notify(std::function<void()> notify) { notify_ = std::move(notify); }

 private:
  std::unique_ptr<Item[]> slots_;
  alignas(64) std::atomic<uint32_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
  std::atomic<bool> drain_pending_{false};
  std::function<void()> notify_;
};

}  // namespace lb::stats
