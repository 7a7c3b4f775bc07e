#include "node/links/redis_connection.hpp"

#include "node/links/redis_link_log.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <charconv>
#include <random>

namespace chatnode {

namespace net = boost::asio;
using namespace std::chrono_literals;

// -- URL ----------------------------------------------------------------------

result<redis_endpoint> parse_redis_url(const std::string& url) {
  constexpr std::string_view scheme = "redis://";
  std::string_view rest{url};
  if (!rest.starts_with(scheme)) {
    return std::string{"expected redis://[[user]:password@]host[:port][/db]"};
  }
  rest.remove_prefix(scheme.size());
  redis_endpoint ep;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto credentials = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    auto colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      ep.password = std::string{credentials};
    } else {
      ep.user = std::string{credentials.substr(0, colon)};
      ep.password = std::string{credentials.substr(colon + 1)};
    }
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    auto db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), ep.db);
      if (ec != std::errc{} || end != db.data() + db.size() || ep.db < 0) {
        return std::string{"the database after / must be a number"};
      }
    }
  }
  auto host = rest;
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos && rest.back() != ']') {
    host = rest.substr(0, colon);
    auto port = rest.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc{} || end != port.data() + port.size() || ep.port < 1 || ep.port > 65535) {
      return std::string{"the port must be a number from 1 to 65535"};
    }
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) {
    return std::string{"the host is missing"};
  }
  ep.host = std::string{host};
  return ep;
}

// -- hiredis event hooks on Asio ----------------------------------------------

/// Watches a context's socket for hiredis. Held by pending waits, so a
/// context freed inside one of them leaves nothing dangling.
struct redis_connection::watcher : std::enable_shared_from_this<watcher> {
  redisAsyncContext* ac;
  net::posix::stream_descriptor fd;
  bool want_read = false, want_write = false;
  bool read_armed = false, write_armed = false;
  bool dead = false; ///< the context is gone, or no longer ours to drive

  watcher(const net::strand<net::io_context::executor_type>& strand, redisAsyncContext* context)
    : ac(context),
      fd(strand, context->c.fd) {}

  void arm_read() {
    if (dead || !want_read || read_armed)
      return;
    read_armed = true;
    fd.async_wait(net::posix::descriptor_base::wait_read,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    self->read_armed = false;
                    if (ec || self->dead || !self->want_read)
                      return;
                    redisAsyncHandleRead(self->ac);
                    self->arm_read();
                  });
  }

  void arm_write() {
    if (dead || !want_write || write_armed)
      return;
    write_armed = true;
    fd.async_wait(net::posix::descriptor_base::wait_write,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    self->write_armed = false;
                    if (ec || self->dead || !self->want_write)
                      return;
                    redisAsyncHandleWrite(self->ac);
                    self->arm_write();
                  });
  }

  /// Stops driving the context; hiredis owns the descriptor, so it is released, never closed.
  void detach() {
    dead = true;
    want_read = want_write = false;
    boost::system::error_code ec;
    fd.cancel(ec);
    fd.release();
  }

  static void add_read(void* p) {
    auto* w = static_cast<watcher*>(p);
    w->want_read = true;
    w->arm_read();
  }
  static void del_read(void* p) { static_cast<watcher*>(p)->want_read = false; }
  static void add_write(void* p) {
    auto* w = static_cast<watcher*>(p);
    w->want_write = true;
    w->arm_write();
  }
  static void del_write(void* p) { static_cast<watcher*>(p)->want_write = false; }
  static void cleanup(void* p) { static_cast<watcher*>(p)->detach(); }
};

namespace {

redis_reply to_value(const redisReply* r) {
  redis_reply out;
  if (r == nullptr)
    return redis_reply::error("disconnected");
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(to_value(r->element[i]));
      break;
    default: out.type = redis_reply::kind::nil;
  }
  return out;
}

/// A pending command's callback, owned by hiredis until it answers.
struct pending_command {
  redis_callback done;
};

} // namespace

// -- connection ---------------------------------------------------------------

redis_connection::redis_connection(net::io_context& ioc, redis_endpoint endpoint, std::string name,
                                   bool subscriber, redis_events events, timing t)
  : strand_(net::make_strand(ioc)),
    endpoint_(std::move(endpoint)),
    name_(std::move(name)),
    subscriber_(subscriber),
    heartbeat_channel_("__chatnode_heartbeat:" + std::to_string(std::random_device{}()) + ":" +
                       std::to_string(reinterpret_cast<std::uintptr_t>(this))),
    events_(std::move(events)),
    timing_(t),
    reconnector_(strand_, t.backoff_min, t.backoff_max),
    ping_timer_(strand_),
    connect_timer_(strand_) {}

redis_connection::~redis_connection() {
  // Nothing else runs on the strand any more: free synchronously.
  if (ac_ != nullptr) {
    auto* ac = ac_;
    ac_ = nullptr;
    if (watcher_)
      watcher_->detach();
    redisAsyncFree(ac);
  }
}

void redis_connection::start() {
  net::post(strand_, [self = shared_from_this()] {
    self->do_connect();
    self->send_ping();
  });
}

void redis_connection::stop() {
  net::post(strand_, [self = shared_from_this()] {
    self->reconnector_.stop();
    self->ping_timer_.cancel();
    self->connect_timer_.cancel();
    if (self->ac_ != nullptr) {
      auto* ac = self->ac_;
      self->ac_ = nullptr;
      self->ready_ = false;
      self->watcher_->detach();
      redisAsyncFree(ac);
    }
  });
}

void redis_connection::do_connect() {
  if (reconnector_.stopped())
    return;
  ++generation_;
  auto* ac = redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port);
  if (ac == nullptr || ac->err) {
    std::string reason = ac ? ac->errstr : "out of memory";
    if (ac)
      redisAsyncFree(ac);
    fail(reason);
    return;
  }
  ac_ = ac;
  ac->data = this;
  watcher_ = std::make_shared<watcher>(strand_, ac);
  ac->ev.data = watcher_.get();
  ac->ev.addRead = &watcher::add_read;
  ac->ev.delRead = &watcher::del_read;
  ac->ev.addWrite = &watcher::add_write;
  ac->ev.delWrite = &watcher::del_write;
  ac->ev.cleanup = &watcher::cleanup;
  // Hooks first: hiredis 0.14 asks for writability at once.
  redisAsyncSetConnectCallback(ac, &redis_connection::on_connect_cb);
  redisAsyncSetDisconnectCallback(ac, &redis_connection::on_disconnect_cb);
  watcher_->want_write = true;
  watcher_->arm_write();

  auto generation = generation_;
  connect_timer_.expires_after(timing_.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
    if (!ec && self->generation_ == generation && !self->ready_)
      self->fail("connect timed out");
  });
}

void redis_connection::on_connect_cb(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<redis_connection*>(ac->data);
  if (self == nullptr || self->ac_ != ac)
    return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    std::string reason = ac->errstr ? ac->errstr : "connect failed";
    self->ac_ = nullptr;
    self->watcher_->dead = true;
    self->fail(reason);
    return;
  }
  self->on_connected();
}

void redis_connection::on_disconnect_cb(const redisAsyncContext* ac, int) {
  auto* self = static_cast<redis_connection*>(ac->data);
  if (self == nullptr || self->ac_ != ac)
    return; // a context we freed ourselves
  std::string reason = ac->errstr ? ac->errstr : "connection lost";
  // hiredis is freeing the context.
  self->ac_ = nullptr;
  self->watcher_->dead = true;
  self->fail(reason.empty() ? "connection lost" : reason);
}

void redis_connection::on_connected() {
  auto generation = generation_;
  auto check = [self = shared_from_this(), generation](const char* step) {
    return [self, generation, step](redis_reply reply) {
      if (self->generation_ != generation)
        return;
      if (reply.is_error())
        self->fail(std::string{step} + ": " + reply.str);
    };
  };
  if (!endpoint_.password.empty()) {
    if (endpoint_.user.empty())
      issue({"AUTH", endpoint_.password}, check("AUTH"));
    else
      issue({"AUTH", endpoint_.user, endpoint_.password}, check("AUTH"));
  }
  if (endpoint_.db != 0)
    issue({"SELECT", std::to_string(endpoint_.db)}, check("SELECT"));
  if (!subscriber_)
    for (const auto& script : preload_)
      issue({"SCRIPT", "LOAD", script}, check("SCRIPT LOAD"));
  // Replies come in order: once PING answers, AUTH and SELECT have succeeded.
  issue({"PING"}, [self = shared_from_this(), generation](redis_reply reply) {
    if (self->generation_ != generation || self->ac_ == nullptr || reply.is_error())
      return;
    self->ready_ = true;
    self->reconnector_.connected();
    self->connect_timer_.cancel();
    log_redis_up(self->name_, self->endpoint_.host, self->endpoint_.port);
    if (!self->channels_.empty()) {
      std::vector<std::string> args{"SUBSCRIBE"};
      args.insert(args.end(), self->channels_.begin(), self->channels_.end());
      self->issue(std::move(args), nullptr);
    }
    if (self->events_.up)
      self->events_.up();
  });
}

void redis_connection::fail(const std::string& reason) {
  bool was_ready = ready_;
  ready_ = false;
  ping_outstanding_ = false;
  ++generation_;
  if (ac_ != nullptr) {
    // Stop driving it so hiredis cannot free it behind our back, then free
    // it outside any hiredis call stack.
    auto* ac = ac_;
    ac_ = nullptr;
    watcher_->detach();
    net::post(strand_, [self = shared_from_this(), ac] { redisAsyncFree(ac); });
  }
  // Who waits for replicas waits for writes of the link just lost: a WAIT
  // on the next link would not cover them.
  fail_waiting("redis link lost before the write reached its replicas");
  log_redis_down(name_, reason, was_ready);
  if (events_.down)
    events_.down(reason);
  reconnector_.retry_later([self = shared_from_this()] {
    if (self->ac_ == nullptr)
      self->do_connect();
  });
}

void redis_connection::send_ping() {
  if (reconnector_.stopped())
    return;
  auto now = std::chrono::steady_clock::now();
  if (ready_ && ping_outstanding_ && now - std::max(ping_sent_, last_heard_) > timing_.ping_timeout) {
    fail("no reply to PING in " + std::to_string(timing_.ping_timeout.count()) + " ms");
  } else if (ready_ && !ping_outstanding_) {
    ping_outstanding_ = true;
    ping_sent_ = now;
    auto generation = generation_;
    if (subscriber_)
      issue({"SUBSCRIBE", heartbeat_channel_}, nullptr); // answered in on_subscription_cb
    else
      issue({"PING"}, [self = shared_from_this(), generation](redis_reply) {
        if (self->generation_ == generation)
          self->ping_outstanding_ = false;
      });
  }
  ping_timer_.expires_after(std::min(timing_.ping_interval, timing_.ping_timeout / 2));
  ping_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec)
      self->send_ping();
  });
}

void redis_connection::issue(std::vector<std::string> args, redis_callback done) {
  if (ac_ == nullptr) {
    if (done)
      done(redis_reply::error("redis is not connected"));
    return;
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> argvlen;
  argv.reserve(args.size());
  argvlen.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  bool subscribing = args.front() == "SUBSCRIBE" || args.front() == "UNSUBSCRIBE";
  int rc;
  if (subscribing) {
    rc = redisAsyncCommandArgv(ac_, &redis_connection::on_subscription_cb, nullptr,
                               static_cast<int>(argv.size()), argv.data(), argvlen.data());
  } else {
    auto* pending = new pending_command{std::move(done)};
    rc = redisAsyncCommandArgv(ac_, &redis_connection::on_reply_cb, pending, static_cast<int>(argv.size()),
                               argv.data(), argvlen.data());
    if (rc != REDIS_OK) {
      auto cb = std::move(pending->done);
      delete pending;
      if (cb)
        cb(redis_reply::error("redis command could not be queued"));
    }
  }
}

void redis_connection::on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<pending_command> pending{static_cast<pending_command*>(privdata)};
  if (auto* self = static_cast<redis_connection*>(ac->data); self != nullptr && reply != nullptr)
    self->last_heard_ = std::chrono::steady_clock::now();
  if (pending && pending->done)
    pending->done(to_value(static_cast<redisReply*>(reply)));
}

void redis_connection::on_subscription_cb(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<redis_connection*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr || r == nullptr || self->ac_ != ac || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
    return;
  self->last_heard_ = std::chrono::steady_clock::now();
  std::string_view kind{r->element[0]->str, r->element[0]->len};
  std::string channel{r->element[1]->str, r->element[1]->len};
  if (kind == "message" && r->element[2]->type == REDIS_REPLY_STRING) {
    if (self->events_.message)
      self->events_.message(channel, std::string{r->element[2]->str, r->element[2]->len});
  } else if (kind == "subscribe" && channel == self->heartbeat_channel_) {
    self->ping_outstanding_ = false;
  } else if (kind == "subscribe") {
    if (self->events_.subscribed)
      self->events_.subscribed(channel);
  }
}

void redis_connection::command(std::vector<std::string> args, redis_callback done) {
  net::post(strand_, [self = shared_from_this(), args = std::move(args), done = std::move(done)]() mutable {
    if (!self->ready_) {
      if (done)
        done(redis_reply::error("redis is not connected"));
      return;
    }
    self->issue(std::move(args), std::move(done));
  });
}

void redis_connection::command_replicated(std::vector<std::string> args, int replicas,
                                          std::chrono::milliseconds timeout, redis_callback done) {
  net::post(strand_, [self = shared_from_this(), args = std::move(args), replicas, timeout,
                      done = std::move(done)]() mutable {
    if (!self->ready_) {
      done(redis_reply::error("redis is not connected"));
      return;
    }
    auto generation = self->generation_;
    self->issue(
      std::move(args), [self, generation, replicas, timeout, done = std::move(done)](redis_reply reply) {
        if (reply.is_error() || self->generation_ != generation) {
          done(reply.is_error() ? std::move(reply) : redis_reply::error("redis link lost"));
          return;
        }
        self->wait_for_replicas(replicas, timeout, [replicas, reply = std::move(reply), done](redis_reply w) {
          if (w.type == redis_reply::kind::integer && w.integer >= replicas)
            done(reply);
          else if (w.is_error())
            done(redis_reply::error("NOTREPLICATED " + w.str));
          else
            done(redis_reply::error("NOTREPLICATED reached " + std::to_string(w.integer) + " of " +
                                    std::to_string(replicas) + " replicas in time"));
        });
      });
  });
}

void redis_connection::wait_for_replicas(int replicas, std::chrono::milliseconds timeout,
                                         redis_callback done) {
  waits_.add({replicas, std::chrono::steady_clock::now() + timeout, std::move(done)});
  if (!waits_.out())
    send_wait();
}

void redis_connection::send_wait() {
  // Every write answered before this WAIT is sent is covered by it, so all
  // who asked so far share its answer; who asks meanwhile waits for the next.
  auto [replicas, timeout] = waits_.start(std::chrono::steady_clock::now());
  issue({"WAIT", std::to_string(replicas), std::to_string(timeout.count())},
        [self = shared_from_this(), generation = generation_](redis_reply reply) {
          auto done =
            reply.type == redis_reply::kind::integer && self->generation_ == generation
              ? self->waits_.answered(static_cast<int>(reply.integer), std::chrono::steady_clock::now())
              : self->waits_.failed();
          for (auto& d : done)
            d(reply);
          if (!self->waits_.out() && self->waits_.pending() && self->ready_)
            self->send_wait();
        });
}

void redis_connection::fail_waiting(const std::string& reason) {
  for (auto& done : waits_.drop_pending())
    done(redis_reply::error(reason));
}

void redis_connection::subscribe(std::vector<std::string> channels) {
  net::post(strand_, [self = shared_from_this(), channels = std::move(channels)] {
    std::vector<std::string> args{"SUBSCRIBE"};
    for (auto& c : channels)
      if (self->channels_.insert(c).second)
        args.push_back(c);
    if (args.size() > 1 && self->ready_)
      self->issue(std::move(args), nullptr);
  });
}

void redis_connection::unsubscribe(std::vector<std::string> channels) {
  net::post(strand_, [self = shared_from_this(), channels = std::move(channels)] {
    std::vector<std::string> args{"UNSUBSCRIBE"};
    for (auto& c : channels)
      if (self->channels_.erase(c) > 0)
        args.push_back(c);
    if (args.size() > 1 && self->ready_)
      self->issue(std::move(args), nullptr);
  });
}

} // namespace chatnode
