#include "node/links/redis_cluster.hpp"

#include "node/process/log.hpp"
#include "node/links/redis_shard_subscriber.hpp"

#include <boost/asio/post.hpp>

namespace chatnode {

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int max_redirects = 3;
/// How often the slot map is asked for when nothing prompts it.
constexpr auto refresh_interval = 2s;
/// How soon it is asked again after an answer that could not be used.
constexpr auto refresh_retry = 250ms;

} // namespace

result<std::vector<redis_endpoint>> parse_redis_seeds(const std::string& url) {
  // The credentials and scheme of the whole URL apply to every host.
  constexpr std::string_view scheme = "redis://";
  if (!std::string_view{url}.starts_with(scheme)) {
    return std::string{"expected redis://[[user]:password@]host:port[,host:port...]"};
  }
  std::string rest = url.substr(scheme.size());
  std::string credentials;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    credentials = rest.substr(0, at + 1);
    rest = rest.substr(at + 1);
  }
  std::vector<redis_endpoint> seeds;
  std::size_t start = 0;
  for (;;) {
    auto comma = rest.find(',', start);
    auto host = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto parsed = parse_redis_url(std::string{scheme} + credentials + host);
    if (!ok(parsed))
      return error_of(parsed);
    auto& ep = std::get<redis_endpoint>(parsed);
    if (ep.db != 0) {
      return std::string{"a cluster has only database 0"};
    }
    seeds.push_back(std::move(ep));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return seeds;
}

// -- the two ports the bridge sees --------------------------------------------

class redis_cluster::command_port : public redis_port {
public:
  explicit command_port(std::shared_ptr<redis_cluster> cluster)
    : cluster_(std::move(cluster)) {}
  void command(std::vector<std::string> args, redis_callback done) override {
    net::post(cluster_->strand_, [c = cluster_, args = std::move(args), done = std::move(done)]() mutable {
      c->route(std::move(args), std::move(done), 0, {});
    });
  }
  void command_replicated(std::vector<std::string> args, int replicas, std::chrono::milliseconds timeout,
                          redis_callback done) override {
    net::post(cluster_->strand_,
              [c = cluster_, args = std::move(args), done = std::move(done), replicas, timeout]() mutable {
                c->route(std::move(args), std::move(done), 0, {replicas, timeout});
              });
  }
  void subscribe(std::vector<std::string>) override {}
  void unsubscribe(std::vector<std::string>) override {}

private:
  std::shared_ptr<redis_cluster> cluster_;
};

class redis_cluster::subscriber_port : public redis_port {
public:
  explicit subscriber_port(std::shared_ptr<redis_cluster> cluster)
    : cluster_(std::move(cluster)) {}
  void command(std::vector<std::string>, redis_callback done) override {
    if (done)
      done(redis_reply::error("the subscriber takes no commands"));
  }
  void subscribe(std::vector<std::string> channels) override {
    net::post(cluster_->strand_,
              [c = cluster_, channels = std::move(channels)]() mutable { c->want(std::move(channels)); });
  }
  void unsubscribe(std::vector<std::string> channels) override {
    net::post(cluster_->strand_,
              [c = cluster_, channels = std::move(channels)]() mutable { c->unwant(std::move(channels)); });
  }

private:
  std::shared_ptr<redis_cluster> cluster_;
};

// -- the cluster --------------------------------------------------------------

redis_cluster::redis_cluster(net::io_context& ioc, std::vector<redis_endpoint> seeds,
                             redis_events command_events, redis_events subscriber_events,
                             redis_connection::timing t)
  : strand_(net::make_strand(ioc)),
    ioc_(ioc),
    seeds_(std::move(seeds)),
    command_events_(std::move(command_events)),
    subscriber_events_(std::move(subscriber_events)),
    timing_(t),
    refresh_timer_(strand_) {}

std::shared_ptr<redis_port> redis_cluster::commands() {
  return std::make_shared<command_port>(shared_from_this());
}
std::shared_ptr<redis_port> redis_cluster::subscriber() {
  return std::make_shared<subscriber_port>(shared_from_this());
}

void redis_cluster::start() {
  net::post(strand_, [self = shared_from_this()] {
    for (const auto& seed : self->seeds_)
      self->link_to({seed.host, seed.port});
    self->refresh();
  });
}

void redis_cluster::stop() {
  net::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->refresh_timer_.cancel();
    for (auto& [address, l] : self->links_) {
      l.commands->stop();
      if (l.subscriber)
        l.subscriber->stop();
    }
  });
}

redis_cluster::link& redis_cluster::link_to(const node_address& address) {
  auto key = address.text();
  if (auto it = links_.find(key); it != links_.end())
    return it->second;
  link l;
  l.endpoint = seeds_.front(); // credentials
  l.endpoint.host = address.host;
  l.endpoint.port = address.port;
  std::weak_ptr<redis_cluster> weak = weak_from_this();
  redis_events events;
  events.up = [weak, key] {
    if (auto c = weak.lock())
      net::post(c->strand_, [c, key] {
        c->links_[key].commands_up = true;
        c->report_commands();
        if (!c->have_slots_)
          c->refresh();
      });
  };
  events.down = [weak, key](const std::string&) {
    if (auto c = weak.lock())
      net::post(c->strand_, [c, key] {
        auto& l = c->links_[key];
        bool was_up = std::exchange(l.commands_up, false);
        c->report_commands();
        if (was_up)
          c->refresh(); // a master gone may mean a failover
      });
  };
  l.commands = std::make_shared<redis_connection>(ioc_, l.endpoint, "commands " + key, false,
                                                  std::move(events), timing_);
  l.commands->preload(preload_);
  l.commands->start();
  return links_.emplace(key, std::move(l)).first->second;
}

// -- commands -------------------------------------------------------------------

void redis_cluster::route(std::vector<std::string> args, redis_callback done, int redirects, replication r) {
  auto key = routing_key(args);
  if (!key) {
    broadcast(std::move(args), std::move(done));
    return;
  }
  auto slot = key_slot(*key);
  const auto* master = slots_.master_of(slot);
  if (master == nullptr) {
    refresh();
    if (done)
      done(redis_reply::error("CLUSTERDOWN no master is known for slot " + std::to_string(slot)));
    return;
  }
  auto& l = link_to(*master);
  if (!l.commands_up) {
    refresh();
    if (done)
      done(redis_reply::error("redis shard " + master->text() + " is not connected"));
    return;
  }
  send(l, std::move(args), std::move(done), redirects, r);
}

void redis_cluster::send(link& l, std::vector<std::string> args, redis_callback done, int redirects,
                         replication r) {
  auto cb = following_redirects(args, std::move(done), redirects, r);
  if (r.replicas > 0)
    l.commands->command_replicated(std::move(args), r.replicas, r.timeout, std::move(cb));
  else
    l.commands->command(std::move(args), std::move(cb));
}

redis_callback redis_cluster::following_redirects(std::vector<std::string> args, redis_callback done,
                                                  int redirects, replication r) {
  return [self = shared_from_this(), args = std::move(args), done = std::move(done), redirects,
          r](redis_reply reply) mutable {
    if (!reply.is_error() || !(reply.str.starts_with("MOVED ") || reply.str.starts_with("ASK "))) {
      if (done)
        done(std::move(reply));
      return;
    }
    net::post(self->strand_, [self, args = std::move(args), done = std::move(done), redirects, r,
                              reply = std::move(reply)]() mutable {
      self->on_reply(std::move(args), std::move(done), redirects, r, std::move(reply));
    });
  };
}

void redis_cluster::on_reply(std::vector<std::string> args, redis_callback done, int redirects, replication r,
                             redis_reply reply) {
  auto redirect = parse_redirect(reply.str);
  if (!redirect || redirects >= max_redirects) {
    if (done)
      done(std::move(reply));
    return;
  }
  if (!redirect->ask) {
    // The slot has a new master for good: route there, and learn the rest.
    slots_.move(redirect->slot, redirect->to);
    refresh();
    route(std::move(args), std::move(done), redirects + 1, r);
    return;
  }
  // ASK: this one command goes to the importing master, after ASKING.
  auto& target = link_to(redirect->to);
  if (!target.commands_up) {
    if (done)
      done(redis_reply::error("redis shard " + redirect->to.text() + " is not connected"));
    return;
  }
  target.commands->command({"ASKING"}, nullptr);
  send(target, std::move(args), std::move(done), redirects + 1, r);
}

void redis_cluster::broadcast(std::vector<std::string> args, redis_callback done) {
  // SCRIPT LOAD and the like: every master, answered with the first reply.
  auto answered = std::make_shared<bool>(false);
  auto first = [answered, done = std::move(done)](redis_reply reply) {
    if (!std::exchange(*answered, true) && done)
      done(std::move(reply));
  };
  bool sent = false;
  for (const auto& master : slots_.masters()) {
    auto it = links_.find(master.text());
    if (it == links_.end() || !it->second.commands_up)
      continue;
    it->second.commands->command(args, first);
    sent = true;
  }
  if (!sent)
    first(redis_reply::error("no redis master is connected"));
}

std::vector<shard_state> redis_cluster::shards() const {
  std::lock_guard lock{shards_mutex_};
  return shards_;
}

void redis_cluster::report_commands() {
  std::vector<shard_state> shards;
  for (const auto& master : slots_.masters()) {
    auto it = links_.find(master.text());
    shards.push_back({master.text(), it != links_.end() && it->second.commands_up});
  }
  {
    std::lock_guard lock{shards_mutex_};
    shards_ = std::move(shards);
  }
  bool up = have_slots_ && std::any_of(links_.begin(), links_.end(), [this](const auto& entry) {
              const auto& masters = slots_.masters();
              return entry.second.commands_up &&
                     std::any_of(masters.begin(), masters.end(),
                                 [&](const node_address& m) { return m.text() == entry.first; });
            });
  if (up == reported_up_)
    return;
  reported_up_ = up;
  if (up && command_events_.up)
    command_events_.up();
  if (!up && command_events_.down)
    command_events_.down("no master of the cluster answers");
}

// -- the slot map ---------------------------------------------------------------

void redis_cluster::refresh() {
  if (stopped_)
    return;
  if (refreshing_) {
    refresh_again_ = true;
    return;
  }
  // Any node that answers knows the whole map: masters first.
  link* asked = nullptr;
  for (const auto& master : slots_.masters())
    if (auto it = links_.find(master.text()); it != links_.end() && it->second.commands_up) {
      asked = &it->second;
      break;
    }
  if (asked == nullptr)
    for (auto& [address, l] : links_)
      if (l.commands_up) {
        asked = &l;
        break;
      }
  if (asked == nullptr) {
    // Nobody answers yet: the links report when one comes up; seeds are
    // linked again in case every known node went away.
    for (const auto& seed : seeds_)
      link_to({seed.host, seed.port});
    refresh_timer_.expires_after(refresh_retry * 4);
    refresh_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec)
        self->refresh();
    });
    return;
  }
  refreshing_ = true;
  refresh_again_ = false;
  asked->commands->command({"CLUSTER", "SLOTS"}, [self = shared_from_this()](redis_reply reply) {
    net::post(self->strand_,
              [self, reply = std::move(reply)]() mutable { self->on_slots(std::move(reply)); });
  });
}

void redis_cluster::on_slots(redis_reply reply) {
  refreshing_ = false;
  auto shards = parse_cluster_slots(reply);
  std::size_t covered = 0;
  for (const auto& s : shards)
    covered += s.last - s.first + 1u;
  if (shards.empty()) {
    log::warn("redis_cluster_slots_unreadable", {{"reply", reply.is_error() ? reply.str : "not a slot map"}});
  } else {
    std::vector<std::string> before;
    for (const auto& m : slots_.masters())
      before.push_back(m.text());
    slots_.assign(shards);
    bool first = !std::exchange(have_slots_, true);
    std::vector<std::string> after;
    for (const auto& m : slots_.masters()) {
      after.push_back(m.text());
      link_to(m);
    }
    if (first || before != after)
      log::info("redis_cluster_slots",
                {{"masters", std::to_string(after.size())}, {"slots_covered", std::to_string(covered)}});
    place_channels();
    report_commands();
    if (first && subscriber_events_.up)
      subscriber_events_.up();
  }
  if (stopped_)
    return;
  auto wait =
    (shards.empty() || covered < cluster_slots || refresh_again_) ? refresh_retry : refresh_interval;
  refresh_timer_.expires_after(wait);
  refresh_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec)
      self->refresh();
  });
}

// -- shard channels -------------------------------------------------------------

void redis_cluster::place_channels() {
  for (const auto& channel : wanted_) {
    const auto* master = slots_.master_of(key_slot(channel));
    auto placed = placed_.find(channel);
    if (master == nullptr) {
      continue; // stays where it is until a master is known
    }
    auto address = master->text();
    if (placed != placed_.end() && placed->second == address)
      continue;
    if (placed != placed_.end()) {
      // Moved: off the old master; what came meanwhile is read back from the stream.
      if (auto old = links_.find(placed->second); old != links_.end() && old->second.subscriber)
        old->second.subscriber->unsubscribe({channel});
      if (subscriber_events_.unsubscribed)
        subscriber_events_.unsubscribed(channel);
    }
    auto& l = link_to(*master);
    if (!l.subscriber) {
      std::weak_ptr<redis_cluster> weak = weak_from_this();
      redis_events events;
      events.subscribed = [weak](const std::string& ch) {
        if (auto c = weak.lock(); c && c->subscriber_events_.subscribed)
          c->subscriber_events_.subscribed(ch);
      };
      events.message = [weak](const std::string& ch, std::string payload) {
        if (auto c = weak.lock(); c && c->subscriber_events_.message)
          c->subscriber_events_.message(ch, std::move(payload));
      };
      events.unsubscribed = [weak, address](const std::string& ch) {
        if (auto c = weak.lock())
          net::post(c->strand_, [c, address, ch] { c->on_unsubscribed(address, ch); });
      };
      events.down = [weak, address](const std::string&) {
        if (auto c = weak.lock())
          net::post(c->strand_, [c, address] { c->on_subscriber_down(address); });
      };
      l.subscriber = std::make_shared<redis_shard_subscriber>(ioc_, l.endpoint, "subscriber " + address,
                                                              std::move(events), timing_);
      l.subscriber->start();
    }
    l.subscriber->subscribe({channel});
    placed_[channel] = address;
  }
}

void redis_cluster::want(std::vector<std::string> channels) {
  for (auto& c : channels)
    wanted_.insert(std::move(c));
  place_channels();
}

void redis_cluster::unwant(std::vector<std::string> channels) {
  for (const auto& c : channels) {
    wanted_.erase(c);
    auto placed = placed_.find(c);
    if (placed == placed_.end())
      continue;
    if (auto l = links_.find(placed->second); l != links_.end() && l->second.subscriber)
      l->second.subscriber->unsubscribe({c});
    placed_.erase(placed);
  }
}

void redis_cluster::on_unsubscribed(const std::string& address, const std::string& channel) {
  // Redis dropped or refused it there: its slot is elsewhere now.
  auto placed = placed_.find(channel);
  if (placed == placed_.end() || placed->second != address)
    return;
  placed_.erase(placed);
  if (subscriber_events_.unsubscribed)
    subscriber_events_.unsubscribed(channel);
  refresh();
}

void redis_cluster::on_subscriber_down(const std::string& address) {
  // Its channels are subscribed again when it comes back (or on the new
  // master after a failover); until then they carry nothing.
  for (const auto& [channel, where] : placed_)
    if (where == address && subscriber_events_.unsubscribed)
      subscriber_events_.unsubscribed(channel);
  refresh();
}

} // namespace chatnode
