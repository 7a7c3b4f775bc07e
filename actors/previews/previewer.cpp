#include "actors/previews/previewer.hpp"

#include "actors/chat/rate_limiter.hpp"
#include "actors/people/directory.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>
#include <unordered_map>

namespace chatnode {

namespace {

struct previewer_state {
  // Not an aggregate: CAF would build it from the actor's pointer.
  previewer_state() = default;

  preview_bus bus;
  std::shared_ptr<link_fetcher> fetcher;
  previewer_settings settings;
  stats_ptr stats;
  std::size_t fetching = 0; ///< fetches under way
  std::unordered_map<std::string, rate_limiter> rooms;
  std::unordered_map<std::string, rate_limiter> users;
  static inline const char* name = "previewer";
};

using previewer_self = previewer_actor::stateful_pointer<previewer_state>;

/// Whether the budget of `key` allows one more fetch; buckets full again are forgotten.
bool take(std::unordered_map<std::string, rate_limiter>& buckets, const std::string& key, double per_minute) {
  if (buckets.size() > 10000)
    buckets.clear(); // a burst of new names: the buckets start over rather than grow
  auto it = buckets.try_emplace(key, per_minute / 60.0, per_minute / 2 + 1).first;
  return it->second.try_take();
}

/// Stores the preview as an entry of the room, in its author's name (the
/// bus takes a preview per message once); its image's copy is kept only
/// when this store added it.
void store(previewer_self self, const preview_job& job, const link_preview& preview) {
  store_request req;
  req.room = job.room;
  req.user = job.author;
  req.change = change_kind::preview;
  req.target = job.target;
  req.cid = "preview:" + job.target.to_string();
  req.preview = preview;
  auto fetcher = self->state.fetcher;
  self->request(self->state.bus, self->state.settings.bus_timeout, store_atom::value, std::move(req))
    .then(
      [fetcher, preview](const store_result& stored) {
        fetcher->settle_image(preview, !stored.refused && !stored.duplicate);
      },
      // No answer: the store may still have happened, so the copy is kept (a
      // few KiB no preview may name, rather than a preview's image gone).
      [fetcher, preview](const caf::error&) { fetcher->settle_image(preview, true); });
}

/// The message gets a copy of the preview's image of its own (link_fetcher),
/// then the preview is stored.
void own_and_store(previewer_self self, const preview_job& job, const link_preview& preview) {
  if (preview.image.empty()) {
    store(self, job, preview);
    return;
  }
  auto back = caf::actor_cast<caf::actor>(self);
  self->state.fetcher->own_image(preview, [back, job](link_preview owned) {
    caf::anon_send(back, pvowned_atom::value, job, std::move(owned));
  });
}

void look_up(previewer_self self, preview_job job) {
  auto& st = self->state;
  self->request(st.bus, st.settings.bus_timeout, pvlookup_atom::value, job.url)
    .then(
      [self, job](const cached_preview& cached) mutable {
        auto& st = self->state;
        switch (cached.what) {
          case cached_preview::state::found:
            st.stats->count_preview(cached.preview ? preview_outcome::cached : preview_outcome::unusable);
            if (cached.preview)
              own_and_store(self, job, *cached.preview);
            return;
          case cached_preview::state::wait:
            if (++job.waits <= st.settings.max_waits)
              self->delayed_send(self, st.settings.wait, preview_atom::value, std::move(job));
            else
              st.stats->count_preview(preview_outcome::skipped);
            return;
          case cached_preview::state::fetch: {
            if (st.fetching >= st.settings.max_fetching) { // its claim lapses in 30 s
              st.stats->count_preview(preview_outcome::skipped);
              return;
            }
            ++st.fetching;
            auto back = caf::actor_cast<caf::actor>(self);
            st.fetcher->fetch(job.url, [back, job](std::optional<link_preview> found) {
              caf::anon_send(back, fetched_atom::value, job, std::move(found));
            });
            return;
          }
        }
      },
      [self](const caf::error&) { // the bus away: the message goes without
        self->state.stats->count_preview(preview_outcome::skipped);
      });
}

previewer_actor::behavior_type previewer(previewer_self self, preview_bus bus,
                                         std::shared_ptr<link_fetcher> fetcher, previewer_settings settings,
                                         stats_ptr stats) {
  auto& st = self->state;
  st.stats = std::move(stats);
  st.bus = std::move(bus);
  st.fetcher = std::move(fetcher);
  st.settings = settings;
  return {
    [self](preview_atom, preview_job& job) {
      auto& st = self->state;
      if (job.waits == 0) {
        bool allowed = st.settings.in_unlisted || listed(job.room);
        if (!allowed || !take(st.rooms, job.room, st.settings.room_per_minute) ||
            !take(st.users, job.author, st.settings.user_per_minute)) {
          st.stats->count_preview(preview_outcome::skipped);
          return;
        }
      }
      look_up(self, std::move(job));
    },
    [self](fetched_atom, const preview_job& job, std::optional<link_preview>& found) {
      --self->state.fetching;
      self->send(self->state.bus, pvkeep_atom::value, job.url, found);
      self->state.stats->count_preview(found ? preview_outcome::fetched : preview_outcome::unusable);
      if (found)
        own_and_store(self, job, *found);
    },
    [self](pvowned_atom, const preview_job& job, const link_preview& preview) { store(self, job, preview); },
  };
}

} // namespace

previewer_actor spawn_previewer(caf::actor_system& sys, preview_bus bus,
                                std::shared_ptr<link_fetcher> fetcher, previewer_settings settings,
                                stats_ptr stats) {
  return sys.spawn(previewer, std::move(bus), std::move(fetcher), settings, std::move(stats));
}

} // namespace chatnode
