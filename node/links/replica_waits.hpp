#pragma once
// Writes on one Redis connection waiting for replicas, and the WAITs that
// cover them. Redis asks its replicas for their offsets only when a WAIT
// starts; a replica that attaches while one blocks (the other replica of a
// failed master, following the promoted one) acknowledges only at its next
// once-a-second report, and a WAIT blocks every command queued behind it on
// the connection. So each WAIT here blocks at most `slice`, and who is still
// short of replicas within its own deadline is covered by the next one.

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

namespace chatnode {

template <class Callback>
class replica_waits {
public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds slice{100};

  struct waiter {
    int replicas;
    clock::time_point deadline;
    Callback done;
  };

  /// A write answered: it waits for the next WAIT to start (one already out
  /// was sent before it and does not cover it).
  void add(waiter w) { next_.push_back(std::move(w)); }
  bool out() const { return !round_.empty(); }
  bool pending() const { return !next_.empty(); }

  /// Starts a WAIT for everyone waiting: the replicas the most demanding
  /// asks for, and a timeout of at most a slice, up to the first deadline
  /// (at least 1 ms: WAIT's 0 blocks for ever).
  std::pair<int, std::chrono::milliseconds> start(clock::time_point now) {
    round_ = std::move(next_);
    next_.clear();
    int replicas = 0;
    auto first = clock::time_point::max();
    for (const auto& w : round_) {
      replicas = std::max(replicas, w.replicas);
      first = std::min(first, w.deadline);
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(first - now);
    return {replicas, std::clamp(left, std::chrono::milliseconds{1}, slice)};
  }

  /// The WAIT's answer, `reached` replicas: who has enough, or whose
  /// deadline has passed, is answered (returned); the rest wait for the next
  /// WAIT, ahead of those who came meanwhile.
  std::vector<Callback> answered(int reached, clock::time_point now) {
    std::vector<Callback> done;
    std::vector<waiter> again;
    for (auto& w : round_) {
      if (reached >= w.replicas || now >= w.deadline)
        done.push_back(std::move(w.done));
      else
        again.push_back(std::move(w));
    }
    round_.clear();
    for (auto& w : next_)
      again.push_back(std::move(w));
    next_ = std::move(again);
    return done;
  }

  /// The WAIT failed (an error, the link lost): everyone in it is answered.
  std::vector<Callback> failed() { return take(round_); }
  /// The link is lost: who waits for the next WAIT is answered too (a WAIT
  /// on the next link would not cover their writes).
  std::vector<Callback> drop_pending() { return take(next_); }

private:
  static std::vector<Callback> take(std::vector<waiter>& from) {
    std::vector<Callback> done;
    for (auto& w : from)
      done.push_back(std::move(w.done));
    from.clear();
    return done;
  }

  std::vector<waiter> round_;
  std::vector<waiter> next_;
};

} // namespace chatnode
