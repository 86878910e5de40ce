// Events from a worker to the control plane (backend up/down, errors), through a bounded
// single-producer single-consumer ring. The worker never waits: when the ring is full the
// event is dropped and counted. The consumer is told to drain through `notify`, called
// only when no drain is already pending, so a burst of events costs one wake-up.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>

namespace lb::stats {

enum class EventType : uint8_t { backend_ejected, backend_recovered, backend_drained, error };

struct Event {
  EventType type = EventType::error;
  uint16_t worker = 0;
  uint32_t backend_id = 0;
  uint32_t duration_ms = 0;  // backend_ejected: how long
  char code[32] = {};
  char message[160] = {};

  void set_code(const char* text) { copy_truncated(code, sizeof(code), text); }
  void set_message(const char* text) { copy_truncated(message, sizeof(message), text); }

 private:
  static void copy_truncated(char* out, size_t capacity, const char* text) {
    size_t length = std::strlen(text);
    if (length >= capacity) length = capacity - 1;
    std::memcpy(out, text, length);
    out[length] = '\0';
  }
};

class EventRing {
 public:
  static constexpr uint32_t kCapacity = 1024;

  // Worker side. Returns false (and the event is lost) when the ring is full.
  bool push(const Event& event) {
    uint32_t head = head_.load(std::memory_order_relaxed);
    uint32_t tail = tail_.load(std::memory_order_acquire);
    if (head - tail == kCapacity) return false;
    slots_[head % kCapacity] = event;
    head_.store(head + 1, std::memory_order_release);
    if (!drain_pending_.exchange(true, std::memory_order_acq_rel) && notify_) notify_();
    return true;
  }

  // Consumer side: clears the pending flag first, so an event pushed during the drain
  // triggers a new notification rather than being stranded.
  template <typename Visit>
  void drain(Visit&& visit) {
    drain_pending_.store(false, std::memory_order_seq_cst);
    uint32_t tail = tail_.load(std::memory_order_relaxed);
    uint32_t head = head_.load(std::memory_order_acquire);
    while (tail != head) {
      visit(slots_[tail % kCapacity]);
      ++tail;
    }
    tail_.store(tail, std::memory_order_release);
  }

  // Set before the worker starts; called from the worker thread.
  void set_notify(std::function<void()> notify) { notify_ = std::move(notify); }

 private:
  Event slots_[kCapacity];
  alignas(64) std::atomic<uint32_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
  std::atomic<bool> drain_pending_{false};
  std::function<void()> notify_;
};

}  // namespace lb::stats
