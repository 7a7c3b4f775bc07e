#pragma once
// A client sink for actor tests: records what a client would receive.

#include "actors/contracts/client_sink.hpp"

#include <nlohmann/json.hpp>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace chatnode::testing {

/// Records what a client would receive.
class recording_sink : public client_sink {
public:
  void send(frame_ptr frame, std::int64_t) override {
    std::lock_guard guard{mutex_};
    events_.push_back(nlohmann::json::parse(*frame));
    frames_.push_back(std::move(frame));
  }
  void close(std::uint16_t code, std::string) override { close_code_ = code; }
  void frame_handled() override {}

  std::vector<nlohmann::json> take() {
    std::lock_guard guard{mutex_};
    return std::exchange(events_, {});
  }
  std::vector<nlohmann::json> of_type(const std::string& type) {
    std::vector<nlohmann::json> out;
    for (auto& e : take())
      if (e["type"] == type)
        out.push_back(e);
    return out;
  }
  const std::vector<frame_ptr>& frames() const { return frames_; }

private:
  std::mutex mutex_;
  std::vector<nlohmann::json> events_;
  std::vector<frame_ptr> frames_;
  std::uint16_t close_code_ = 0;
};

} // namespace chatnode::testing
