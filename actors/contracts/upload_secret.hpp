#pragma once
// (1.2) The secret that seals upload tickets. Every node of a deployment
// must hold the same one, since a client may PUT to another node than the
// one that granted its ticket: on the embedded bus it is the process's own;
// with Redis it is the one the first node stored there, known once the bus
// has read it (until then uploads answer `unavailable`). Read from I/O and
// actor threads, set from the bus.

#include <atomic>
#include <memory>
#include <string>

namespace chatnode {

class upload_secret {
public:
  /// The secret, or none while it is not known yet.
  std::shared_ptr<const std::string> get() const { return value_.load(std::memory_order_acquire); }
  void set(const std::string& value) {
    value_.store(std::make_shared<const std::string>(value), std::memory_order_release);
  }

private:
  std::atomic<std::shared_ptr<const std::string>> value_;
};

} // namespace chatnode
