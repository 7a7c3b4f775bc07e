#include "actors/people/issuer_keeper.hpp"

#include <caf/all.hpp>

#include <optional>
#include <vector>

namespace chatnode {

namespace {

using clock = std::chrono::steady_clock;

struct keeper_state {
  static inline const char* name = "chatnode.issuer_keeper";
  std::shared_ptr<issuer_keys> keys;
  std::shared_ptr<document_fetcher> fetcher;
  issuer_keeper_settings settings;
  stats_ptr stats;
  std::uint64_t fetches = 0; ///< the number of the last fetch started
  bool in_flight = false;
  std::optional<clock::time_point> last_start;
  bool last_failed = false;
  /// Sessions waiting for the fetch in flight.
  std::vector<caf::typed_response_promise<bool>> waiting;
};

using keeper_actor = issuer_actor::stateful_pointer<keeper_state>;

void start_fetch(keeper_actor self) {
  auto& st = self->state;
  st.in_flight = true;
  st.last_start = clock::now();
  auto number = ++st.fetches;
  // The fetcher answers on an I/O thread: its answer comes back as a message.
  auto me = caf::actor_cast<issuer_actor>(self);
  st.fetcher->fetch(st.settings.jwks_url, [me, number](std::string body, std::string error) {
    caf::anon_send(me, fetched_atom::value, number, std::move(body), std::move(error));
  });
}

void on_fetched(keeper_actor self, std::uint64_t number, const std::string& document,
                const std::string& error) {
  auto& st = self->state;
  if (number != st.fetches)
    return;
  st.in_flight = false;
  std::string problem = error;
  std::size_t count = 0;
  if (problem.empty()) {
    auto parsed = jwk_set::parse(document);
    if (ok(parsed)) {
      auto fresh = std::make_shared<const jwk_set>(std::move(std::get<jwk_set>(parsed)));
      count = fresh->size();
      st.keys->set(std::move(fresh));
    } else {
      problem = error_of(parsed);
    }
  }
  st.last_failed = !problem.empty();
  st.stats->issuer_fetches[st.last_failed ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
  if (auto held = st.keys->get())
    st.stats->issuer_keys.store(static_cast<std::int64_t>(held->size()), std::memory_order_relaxed);
  if (st.settings.on_fetch)
    st.settings.on_fetch(count, problem);
  for (auto& promise : st.waiting)
    promise.deliver(!st.last_failed);
  st.waiting.clear();
}

issuer_actor::behavior_type keeper(keeper_actor self, std::shared_ptr<issuer_keys> keys,
                                   std::shared_ptr<document_fetcher> fetcher, issuer_keeper_settings settings,
                                   stats_ptr stats) {
  auto& st = self->state;
  st.keys = std::move(keys);
  st.fetcher = std::move(fetcher);
  st.settings = std::move(settings);
  st.stats = std::move(stats);
  start_fetch(self);
  // The timer ticks at the shorter interval: a failed fetch is tried again
  // soon, a good one kept for the refresh interval.
  self->delayed_send(self, st.settings.min_gap, tick_atom::value);
  return {
    [self](jwks_atom) -> caf::result<bool> {
      auto& st = self->state;
      if (!st.in_flight) {
        if (st.last_start && clock::now() - *st.last_start < st.settings.min_gap)
          return false;
        start_fetch(self);
      }
      // Answered when the fetch in flight ends.
      st.waiting.push_back(self->make_response_promise<bool>());
      return st.waiting.back();
    },
    [self](tick_atom) {
      auto& st = self->state;
      self->delayed_send(self, st.settings.min_gap, tick_atom::value);
      if (st.in_flight || !st.last_start)
        return;
      auto since = clock::now() - *st.last_start;
      if (since >= st.settings.refresh || (st.last_failed && since >= st.settings.min_gap))
        start_fetch(self);
    },
    [self](fetched_atom, std::uint64_t number, const std::string& document, const std::string& error) {
      on_fetched(self, number, document, error);
    },
  };
}

} // namespace

issuer_actor spawn_issuer_keeper(caf::actor_system& sys, std::shared_ptr<issuer_keys> keys,
                                 std::shared_ptr<document_fetcher> fetcher, issuer_keeper_settings settings,
                                 stats_ptr stats) {
  return sys.spawn(keeper, std::move(keys), std::move(fetcher), std::move(settings), std::move(stats));
}

} // namespace chatnode
