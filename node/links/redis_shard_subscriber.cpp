#include "node/links/redis_shard_subscriber.hpp"

#include "actors/redis_bus/cluster_slots.hpp"
#include "node/links/redis_link_log.hpp"
#include "node/process/log.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <map>

namespace chatnode {

namespace net = boost::asio;

namespace {

std::string format_command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* formatted = nullptr;
  int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lengths.data());
  std::string out = length > 0 ? std::string{formatted, static_cast<std::size_t>(length)} : std::string{};
  redisFreeCommand(formatted);
  return out;
}

std::string text_of(const redisReply* r) {
  return (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)
           ? std::string{r->str, r->len}
           : std::string{};
}

/// Channels grouped by slot: one SSUBSCRIBE each.
std::map<std::uint16_t, std::vector<std::string>> by_slot(const std::set<std::string>& channels) {
  std::map<std::uint16_t, std::vector<std::string>> groups;
  for (const auto& c : channels)
    groups[key_slot(c)].push_back(c);
  return groups;
}

} // namespace

redis_shard_subscriber::redis_shard_subscriber(net::io_context& ioc, redis_endpoint endpoint,
                                               std::string name, redis_events events,
                                               redis_connection::timing t)
  : strand_(net::make_strand(ioc)),
    resolver_(strand_),
    socket_(strand_),
    endpoint_(std::move(endpoint)),
    name_(std::move(name)),
    events_(std::move(events)),
    timing_(t),
    reconnector_(strand_, t.backoff_min, t.backoff_max),
    ping_timer_(strand_) {}

redis_shard_subscriber::~redis_shard_subscriber() {
  if (reader_ != nullptr)
    redisReaderFree(reader_);
}

void redis_shard_subscriber::start() {
  net::post(strand_, [self = shared_from_this()] {
    self->connect();
    self->heartbeat();
  });
}

void redis_shard_subscriber::stop() {
  net::post(strand_, [self = shared_from_this()] {
    self->reconnector_.stop();
    ++self->generation_;
    self->up_ = false;
    boost::system::error_code ec;
    self->socket_.close(ec);
    self->resolver_.cancel();
    self->ping_timer_.cancel();
  });
}

void redis_shard_subscriber::connect() {
  if (reconnector_.stopped())
    return;
  auto generation = ++generation_;
  connecting_ = true;
  connect_started_ = std::chrono::steady_clock::now();
  resolver_.async_resolve(
    endpoint_.host, std::to_string(endpoint_.port),
    [self = shared_from_this(), generation](boost::system::error_code ec,
                                            net::ip::tcp::resolver::results_type found) {
      if (self->generation_ != generation)
        return;
      if (ec)
        return self->fail("resolve: " + ec.message());
      net::async_connect(self->socket_, found,
                         [self, generation](boost::system::error_code ec, const net::ip::tcp::endpoint&) {
                           if (self->generation_ != generation)
                             return;
                           if (ec)
                             return self->fail("connect: " + ec.message());
                           self->on_connected();
                         });
    });
}

void redis_shard_subscriber::on_connected() {
  if (reader_ != nullptr)
    redisReaderFree(reader_);
  reader_ = redisReaderCreate();
  connecting_ = false;
  boost::system::error_code ignored;
  socket_.set_option(net::ip::tcp::no_delay(true), ignored);
  up_ = true;
  reconnector_.connected();
  last_heard_ = std::chrono::steady_clock::now();
  read_more();
  if (!endpoint_.password.empty()) {
    if (endpoint_.user.empty())
      send({"AUTH", endpoint_.password}, {"auth", {}, 1});
    else
      send({"AUTH", endpoint_.user, endpoint_.password}, {"auth", {}, 1});
  }
  for (auto& [slot, channels] : by_slot(channels_)) {
    std::vector<std::string> args{"SSUBSCRIBE"};
    args.insert(args.end(), channels.begin(), channels.end());
    send(std::move(args), {"ssubscribe", channels, channels.size()});
  }
  log_redis_up(name_, endpoint_.host, endpoint_.port);
  if (events_.up)
    events_.up();
}

void redis_shard_subscriber::fail(const std::string& reason) {
  bool was_up = up_;
  up_ = false;
  connecting_ = false;
  ++generation_;
  boost::system::error_code ec;
  socket_.close(ec);
  writes_.clear();
  writing_ = false;
  pending_.clear();
  log_redis_down(name_, reason, was_up);
  if (events_.down)
    events_.down(reason);
  reconnector_.retry_later([self = shared_from_this()] {
    if (!self->up_)
      self->connect();
  });
}

void redis_shard_subscriber::send(std::vector<std::string> args, pending expect) {
  writes_.push_back(format_command(args));
  pending_.push_back(std::move(expect));
  write_next();
}

void redis_shard_subscriber::write_next() {
  if (writing_ || writes_.empty() || !up_)
    return;
  writing_ = true;
  net::async_write(
    socket_, net::buffer(writes_.front()),
    [self = shared_from_this(), generation = generation_](boost::system::error_code ec, std::size_t) {
      if (self->generation_ != generation)
        return;
      self->writing_ = false;
      if (ec)
        return self->fail("write: " + ec.message());
      self->writes_.pop_front();
      self->write_next();
    });
}

void redis_shard_subscriber::read_more() {
  socket_.async_read_some(net::buffer(read_buffer_), [self = shared_from_this(), generation = generation_](
                                                       boost::system::error_code ec, std::size_t n) {
    if (self->generation_ != generation)
      return;
    if (ec)
      return self->fail(ec == net::error::eof ? "connection closed" : "read: " + ec.message());
    if (redisReaderFeed(self->reader_, self->read_buffer_.data(), n) != REDIS_OK)
      return self->fail("unreadable reply");
    for (;;) {
      void* reply = nullptr;
      if (redisReaderGetReply(self->reader_, &reply) != REDIS_OK)
        return self->fail("unreadable reply");
      if (reply == nullptr)
        break;
      self->on_reply(reply);
      freeReplyObject(reply);
      if (self->generation_ != generation)
        return; // the reply made it fail
    }
    self->read_more();
  });
}

void redis_shard_subscriber::on_reply(void* raw) {
  const auto* r = static_cast<const redisReply*>(raw);
  last_heard_ = std::chrono::steady_clock::now();
  auto answered = [this](const char* kind) {
    if (pending_.empty() || pending_.front().kind != kind)
      return false;
    if (--pending_.front().left == 0)
      pending_.pop_front();
    return true;
  };
  if (r->type == REDIS_REPLY_ERROR) {
    auto error = text_of(r);
    if (pending_.empty())
      return fail("unexpected error: " + error);
    auto refused = std::move(pending_.front());
    pending_.pop_front();
    if (refused.kind == "auth")
      return fail("AUTH: " + error);
    if (refused.kind == "ssubscribe") {
      log::info("redis_subscribe_refused", {{"link", name_}, {"reason", error}});
      drop(refused.channels);
    }
    return;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[0]->type != REDIS_REPLY_STRING) {
    // +PONG when no channel is subscribed here (else ["pong", ""]), +OK to AUTH.
    if (!answered("ping"))
      answered("auth");
    return;
  }
  std::string kind = text_of(r->element[0]);
  std::string channel = text_of(r->element[1]);
  if (kind == "smessage" && r->elements >= 3) {
    if (events_.message && channels_.count(channel))
      events_.message(channel, text_of(r->element[2]));
  } else if (kind == "ssubscribe") {
    answered("ssubscribe");
    if (events_.subscribed && channels_.count(channel))
      events_.subscribed(channel);
  } else if (kind == "sunsubscribe") {
    bool ours = !pending_.empty() && pending_.front().kind == "sunsubscribe" && answered("sunsubscribe");
    if (!ours)
      drop({channel}); // Redis moved the slot away from this master
  } else if (kind == "pong") {
    answered("ping");
  }
}

void redis_shard_subscriber::drop(const std::vector<std::string>& channels) {
  for (const auto& c : channels)
    if (channels_.erase(c) > 0 && events_.unsubscribed)
      events_.unsubscribed(c);
}

void redis_shard_subscriber::heartbeat() {
  if (reconnector_.stopped())
    return;
  auto now = std::chrono::steady_clock::now();
  bool pinging =
    std::any_of(pending_.begin(), pending_.end(), [](const pending& p) { return p.kind == "ping"; });
  if (up_ && pinging && now - last_heard_ > timing_.ping_timeout)
    fail("no reply to PING in " + std::to_string(timing_.ping_timeout.count()) + " ms");
  else if (connecting_ && now - connect_started_ > timing_.connect_timeout)
    fail("connect timed out");
  else if (up_ && !pinging)
    send({"PING"}, {"ping", {}, 1});
  ping_timer_.expires_after(std::min(timing_.ping_interval, timing_.ping_timeout / 2));
  ping_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec)
      self->heartbeat();
  });
}

void redis_shard_subscriber::subscribe(std::vector<std::string> channels) {
  net::post(strand_, [self = shared_from_this(), channels = std::move(channels)] {
    std::vector<std::string> fresh;
    for (const auto& c : channels)
      if (self->channels_.insert(c).second)
        fresh.push_back(c);
    if (!self->up_)
      return;
    for (auto& [slot, group] : by_slot({fresh.begin(), fresh.end()})) {
      std::vector<std::string> args{"SSUBSCRIBE"};
      args.insert(args.end(), group.begin(), group.end());
      self->send(std::move(args), {"ssubscribe", group, group.size()});
    }
  });
}

void redis_shard_subscriber::unsubscribe(std::vector<std::string> channels) {
  net::post(strand_, [self = shared_from_this(), channels = std::move(channels)] {
    std::vector<std::string> gone;
    for (const auto& c : channels)
      if (self->channels_.erase(c) > 0)
        gone.push_back(c);
    if (gone.empty() || !self->up_)
      return;
    std::vector<std::string> args{"SUNSUBSCRIBE"};
    args.insert(args.end(), gone.begin(), gone.end());
    self->send(std::move(args), {"sunsubscribe", gone, gone.size()});
  });
}

} // namespace chatnode
