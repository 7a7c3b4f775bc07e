// chatbench: load and correctness for chat servers that speak PROTOCOL.md.
//
//   chatbench fanout --url ws://H:P/ws[,ws://H2:P2/ws] --clients N --rooms R
//                    --senders S --rate MSGS_PER_SENDER_PER_S --size BYTES
//                    --duration SECONDS [--pids PID,PID] [--json FILE] [--threads T]
//                    [--redis-pids PID,PID] [--link URL]
//   chatbench conns  --url ... --clients N [--sources 127.0.0.1,127.0.0.2] [--pids ...]
//   chatbench burst  --url ... --clients N --rooms R --senders S --count K [--pids ...]
//   chatbench storm  --url ... --clients N [--first K] [--senders 0|1] [--connect-rate R]
//                    [--pids ...] [--redis-pids ...]
//
// storm: every client joins room bench0 the moment its upgrade is answered
// (a big room filling after a node drained); prints connect-to-joined
// percentiles, the presence events and bytes each join cost the members, the
// bytes of `joined`, and server and Redis CPU until the last one joined.
// Once presence has settled it prints "settled" and keeps the clients in
// the room until its stdin ends (unless stdin is a terminal). Clients a node
// closes with 1012 or 1001 (draining) connect to the next URL and join
// again, as behind a balancer; "drain N" on stdin waits for N of them and
// prints "settled" again; their close-to-joined times print too.
// "broadcast" on stdin: the first client sends one message to the room (if
// --senders is not 0), and once every client here has it the time until the
// last one did prints as "broadcast {...}". Several storm processes can fill
// one room: --first numbers their clients' names apart.
//
// Clients spread over the URLs and rooms round-robin; the first S clients
// send. Every receiver checks that ids rise strictly in its room (no
// duplicate, no reordering) and counts what it missed; latency is from the
// sender's clock stamp in the text to receipt. Server CPU and RSS come from
// /proc for the given pids, and Redis CPU per process for --redis-pids.
// Results print as one JSON object. Clients are spread over T threads
// (default 2), each with its own I/O loop, so that the load generator is not
// the slowest part of what it measures.

#include "ws_frame.hpp"

#include <boost/asio.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <atomic>
#include <string>
#include <netinet/in.h>
#include <unistd.h>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

// -- options ------------------------------------------------------------------

struct options {
  std::string scenario;
  std::vector<std::string> urls;
  std::vector<std::string> sources;
  std::vector<int> pids;
  std::vector<int> redis_pids;
  int clients = 100, rooms = 1, senders = 1, size = 100, count = 100, threads = 2;
  int first = 0;           ///< the first client's number in its name (u<first>)
  double connect_rate = 0; ///< clients started per second at most (0: as fast as they connect)
  double rate = 10, duration = 10, warmup = 2;
  std::string json_path;
  std::string link; ///< each message carries it, made unique (?<client>-<seq>): the previews' path
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in{s};
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty())
      out.push_back(item);
  return out;
}

options parse_options(int argc, char** argv) {
  options o;
  if (argc < 2)
    throw std::runtime_error("usage: chatbench fanout|conns|burst|storm --url ws://host:port/ws [options]");
  o.scenario = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--url")
      o.urls = split(v, ',');
    else if (k == "--sources")
      o.sources = split(v, ',');
    else if (k == "--redis-pids")
      for (const auto& p : split(v, ','))
        o.redis_pids.push_back(std::stoi(p));
    else if (k == "--pids")
      for (auto& p : split(v, ','))
        o.pids.push_back(std::stoi(p));
    else if (k == "--clients")
      o.clients = std::stoi(v);
    else if (k == "--connect-rate")
      o.connect_rate = std::stod(v);
    else if (k == "--first")
      o.first = std::stoi(v);
    else if (k == "--rooms")
      o.rooms = std::stoi(v);
    else if (k == "--senders")
      o.senders = std::stoi(v);
    else if (k == "--size")
      o.size = std::stoi(v);
    else if (k == "--link")
      o.link = v;
    else if (k == "--count")
      o.count = std::stoi(v);
    else if (k == "--threads")
      o.threads = std::max(1, std::stoi(v));
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--duration")
      o.duration = std::stod(v);
    else if (k == "--warmup")
      o.warmup = std::stod(v);
    else if (k == "--json")
      o.json_path = v;
    else
      throw std::runtime_error("unknown option " + k);
  }
  if (o.urls.empty())
    throw std::runtime_error("--url is required");
  if (o.sources.empty())
    o.sources = {"127.0.0.1"};
  return o;
}

struct endpoint {
  std::string host, port, target;
};

endpoint parse_url(const std::string& url) {
  auto rest = url.substr(url.find("://") + 3);
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  auto colon = hostport.rfind(':');
  return {hostport.substr(0, colon), hostport.substr(colon + 1),
          slash == std::string::npos ? "/ws" : rest.substr(slash)};
}

// -- /proc ------------------------------------------------------------------------

double cpu_seconds(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest{line.substr(close + 2)};
  std::string field;
  std::vector<std::string> fields;
  while (rest >> field)
    fields.push_back(field);
  if (fields.size() < 13)
    return 0;
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
  return (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long rss_bytes(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6)) * 1024;
  return 0;
}

double total_cpu(const std::vector<int>& pids) {
  double s = 0;
  for (int p : pids)
    s += cpu_seconds(p);
  return s;
}

long total_rss(const std::vector<int>& pids) {
  long s = 0;
  for (int p : pids)
    s += rss_bytes(p);
  return s;
}

// -- clients ----------------------------------------------------------------------

using counter = std::atomic<std::int64_t>;

/// Counts one more on a counter only its own thread writes: a plain store,
/// not a locked read-modify-write, while other threads may read it.
inline void bump(counter& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

/// What one load thread counts. Only that thread writes; the main thread
/// reads the counters while the run goes on and the samples after it.
struct thread_state {
  explicit thread_state(const options& o)
    : opts(o),
      acked(static_cast<std::size_t>(o.rooms)) {}

  const options& opts;
  net::io_context ioc{1};
  std::vector<std::uint32_t> latencies_us;
  std::vector<std::uint32_t> connect_us;
  std::vector<std::uint32_t> joined_us;   ///< storm: from connect to `joined`
  std::vector<std::uint32_t> rejoined_us; ///< storm: from a drain's close to `joined` on another node
  counter presence_events{0}, presence_bytes{0}, joined_bytes{0}, drained{0}, rejoined{0};
  counter delivered{0}, delivered_in_window{0}, out_of_order{0}, duplicates{0}, errors{0}, closed{0};
  counter connected{0}, joined{0}, join_retries{0};
  counter latency_max_us{0};  ///< the slowest delivery in the window
  std::vector<counter> acked; ///< per room: messages its senders here saw echoed
  std::atomic<std::int64_t> window_start_ns{0}, window_end_ns{0};
};

// -- events -------------------------------------------------------------------------
//
// A frame holds one event object or an array of them. Each object is read in
// one pass over its top-level keys (servers order keys differently); string
// values are skipped with memchr, nested values by depth, so the cost is per
// field, not per byte searched again for every key.

struct event_fields {
  std::string_view type, id, text, raw;
};

/// Index just past the string that starts after the opening quote at `i`.
std::size_t skip_string(std::string_view s, std::size_t i) {
  for (;;) {
    auto* q = static_cast<const char*>(std::memchr(s.data() + i, '"', s.size() - i));
    if (q == nullptr)
      return s.size();
    auto end = static_cast<std::size_t>(q - s.data());
    std::size_t slashes = 0;
    while (end - slashes > i && s[end - slashes - 1] == '\\')
      ++slashes;
    if (slashes % 2 == 0)
      return end + 1;
    i = end + 1;
  }
}

/// Index just past the object or array that starts at `i`.
std::size_t skip_nested(std::string_view s, std::size_t i) {
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      i = skip_string(s, i + 1);
      continue;
    }
    if (c == '{' || c == '[')
      ++depth;
    else if ((c == '}' || c == ']') && --depth == 0)
      return i + 1;
    ++i;
  }
  return s.size();
}

/// Reads the object at `i` (s[i] == '{'); returns the index past it.
std::size_t read_event(std::string_view s, std::size_t i, event_fields& e) {
  auto start = i++;
  while (i < s.size() && s[i] != '}') {
    if (s[i] != '"') {
      ++i;
      continue;
    } // ',' and whitespace
    auto key_end = skip_string(s, i + 1);
    auto key = s.substr(i + 1, key_end - i - 2);
    i = key_end;
    while (i < s.size() && (s[i] == ':' || s[i] == ' '))
      ++i;
    if (i >= s.size())
      break;
    std::string_view value;
    if (s[i] == '"') {
      auto end = skip_string(s, i + 1);
      value = s.substr(i + 1, end - i - 2);
      i = end;
    } else if (s[i] == '{' || s[i] == '[') {
      i = skip_nested(s, i);
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '}')
        ++i;
    }
    if (key == "type")
      e.type = value;
    else if (key == "id")
      e.id = value;
    else if (key == "text")
      e.text = value;
  }
  e.raw = s.substr(start, std::min(i + 1, s.size()) - start);
  return i + 1;
}

/// Calls f(event_fields) for every event of a frame.
template <class F>
void for_each_event(std::string_view s, F f) {
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '{') {
      event_fields e;
      i = read_event(s, i, e);
      f(e);
    } else {
      ++i; // '[', ',', ']', whitespace
    }
  }
}

struct msg_id {
  std::uint64_t ms = 0, seq = 0;
  auto operator<=>(const msg_id&) const = default;
};

msg_id parse_id(std::string_view s) {
  msg_id id;
  auto dash = s.find('-');
  if (dash == std::string_view::npos)
    return id;
  std::from_chars(s.data(), s.data() + dash, id.ms);
  std::from_chars(s.data() + dash + 1, s.data() + s.size(), id.seq);
  return id;
}

class client : public std::enable_shared_from_this<client> {
public:
  client(thread_state& st, int index, std::size_t url_index, std::string source)
    : url_index_(url_index),
      socket_(st.ioc),
      timer_(st.ioc),
      st_(st),
      index_(index),
      index_text_(std::to_string(index)),
      ep_(parse_url(st.opts.urls[url_index])),
      source_(std::move(source)) {
    room_ = index % st.opts.rooms;
    sender_ = index < st.opts.senders;
  }

  void start() {
    started_ns_ = now_ns();
    boost::system::error_code ec;
    socket_.open(tcp::v4(), ec);
    // The port is chosen at connect, per destination: bind() picking one
    // searches every port bound so far, which grows slow past ten thousand.
    socket_.set_option(net::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>(true), ec);
    socket_.bind(tcp::endpoint(net::ip::make_address(source_), 0), ec);
    tcp::endpoint target{net::ip::make_address(ep_.host == "localhost" ? "127.0.0.1" : ep_.host),
                         static_cast<unsigned short>(std::stoi(ep_.port))};
    socket_.async_connect(target, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec)
        return self->fail("connect", ec);
      self->socket_.set_option(tcp::no_delay(true));
      self->queue_.push_back(
        "GET " + self->ep_.target + " HTTP/1.1\r\nHost: " + self->ep_.host + ":" + self->ep_.port +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      self->do_write();
      self->read_handshake();
    });
  }

  void join() {
    write("{\"type\":\"join\",\"room\":\"bench" + std::to_string(room_) + "\",\"name\":\"u" +
          std::to_string(st_.opts.first + index_) + "\"}");
  }

  /// Sends one message with the clock stamp, padded to the size asked for.
  void send_one() {
    auto text =
      std::to_string(index_) + ":" + std::to_string(next_seq_) + ":" + std::to_string(now_ns()) + ":";
    if (!st_.opts.link.empty())
      text += " " + st_.opts.link + "?" + std::to_string(index_) + "-" + std::to_string(next_seq_) + " ";
    if (static_cast<int>(text.size()) < st_.opts.size)
      text.append(static_cast<std::size_t>(st_.opts.size) - text.size(), 'x');
    write("{\"type\":\"send\",\"room\":\"bench" + std::to_string(room_) + "\",\"text\":\"" + text +
          "\",\"cid\":\"" + std::to_string(next_seq_) + "\"}");
    ++next_seq_;
  }

  void start_sending(double rate, std::int64_t until_ns) {
    if (!sender_)
      return;
    until_ns_ = until_ns;
    period_ = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate));
    // Spread the senders' phases over one period.
    next_at_ =
      clock_type::now() + std::chrono::nanoseconds(period_.count() * index_ / std::max(1, st_.opts.senders));
    tick();
  }

  void close() {
    failed_ = true; // the reads it cancels are not failures
    boost::system::error_code ec;
    socket_.close(ec);
  }

  bool sender() const { return sender_; }
  int room() const { return room_; }
  std::int64_t received() const { return received_.load(std::memory_order_relaxed); }
  thread_state& state() { return st_; }

private:
  void tick() {
    if (now_ns() >= until_ns_)
      return;
    send_one();
    next_at_ += period_;
    timer_.expires_at(next_at_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec)
        self->tick();
    });
  }

  // The WebSocket framing is done here, not by a library: the load generator
  // must cost less than the servers it measures. Client frames are masked
  // with a zero key (legal, and the payload stays as it is).
  void write(const std::string& payload, unsigned opcode = 0x1) {
    std::string frame;
    frame.reserve(payload.size() + 8);
    frame += static_cast<char>(0x80 | opcode);
    if (payload.size() < 126) {
      frame += static_cast<char>(0x80 | payload.size());
    } else {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>((payload.size() >> 8) & 0xff);
      frame += static_cast<char>(payload.size() & 0xff);
    }
    frame.append(4, '\0');
    frame += payload;
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1)
      do_write();
  }

  void do_write() {
    net::async_write(socket_, net::buffer(queue_.front()),
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec)
                         return self->fail("write", ec);
                       self->queue_.erase(self->queue_.begin());
                       if (!self->queue_.empty())
                         self->do_write();
                     });
  }

  /// Makes room for at least `free` more bytes after end_.
  void reserve_input(std::size_t free) {
    if (begin_ > 0 && in_.size() - end_ < free) {
      std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (in_.size() - end_ < free)
      in_.resize(end_ + free);
  }

  void read_handshake() {
    reserve_input(4096);
    socket_.async_read_some(
      net::buffer(in_.data() + end_, in_.size() - end_),
      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec)
          return self->fail("handshake", ec);
        self->end_ += n;
        std::string_view head{self->in_.data(), self->end_};
        auto blank = head.find("\r\n\r\n");
        if (blank == std::string_view::npos)
          return self->read_handshake();
        if (head.substr(0, 12) != "HTTP/1.1 101") {
          std::cerr << "client " << self->index_ << ": upgrade refused: " << head.substr(0, head.find('\r'))
                    << "\n";
          return self->fail("handshake", net::error::connection_refused);
        }
        self->begin_ = blank + 4;
        self->st_.connect_us.push_back(static_cast<std::uint32_t>((now_ns() - self->started_ns_) / 1000));
        self->st_.connected.fetch_add(1);
        if (self->st_.opts.scenario == "storm")
          self->join();
        if (self->parse_frames())
          self->read();
      });
  }

  void read() {
    reserve_input(16384);
    socket_.async_read_some(net::buffer(in_.data() + end_, in_.size() - end_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                              if (ec)
                                return self->fail("read", ec);
                              self->end_ += n;
                              if (self->parse_frames())
                                self->read();
                            });
  }

  /// Handles every complete frame in the input; false once the server closed.
  bool parse_frames() {
    while (end_ - begin_ >= 2) {
      auto* p = reinterpret_cast<const unsigned char*>(in_.data() + begin_);
      std::size_t avail = end_ - begin_;
      auto frame = bench::read_frame_header(p, avail);
      if (!frame)
        break;
      // Servers do not mask, but a key that came is skipped.
      std::size_t header = frame->size;
      std::uint64_t length = frame->length;
      if (avail < header + length) {
        reserve_input(header + length - avail);
        break;
      }
      std::string_view payload{in_.data() + begin_ + header, static_cast<std::size_t>(length)};
      unsigned opcode = p[0] & 0x0f;
      begin_ += header + length;
      bool fin = (p[0] & 0x80) != 0;
      if (opcode == 0x1 && fin && fragments_.empty()) {
        on_frame(payload); // the usual case: a whole message in one frame
      } else if (opcode == 0x1 || opcode == 0x0) {
        fragments_.append(payload); // a message in fragments is read whole
        if (fin) {
          on_frame(fragments_);
          fragments_.clear();
        }
      } else if (opcode == 0x9) {
        write(std::string{payload}, 0xA); // pong
      } else if (opcode == 0x8) {
        close_code_ = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) |
                                              static_cast<unsigned char>(payload[1])
                                          : 0;
        close_reason_ = payload.size() > 2 ? std::string{payload.substr(2)} : "";
        fail("read", net::error::eof);
        return false;
      }
    }
    if (begin_ == end_)
      begin_ = end_ = 0;
    return true;
  }

  void on_frame(std::string_view s) {
    auto t = now_ns();
    for_each_event(s, [&](const event_fields& e) {
      if (e.type == "message") {
        auto id = parse_id(e.id);
        if (have_last_ && id <= last_) {
          if (id == last_)
            ++st_.duplicates;
          else
            ++st_.out_of_order;
          if (st_.duplicates + st_.out_of_order <= 5)
            std::cerr << "client " << index_ << ": id " << id.ms << "-" << id.seq << " after " << last_.ms
                      << "-" << last_.seq << "\n";
        }
        last_ = id;
        have_last_ = true;
        bump(received_);
        bump(st_.delivered);
        auto text = e.text;
        auto a = text.find(':'), b = text.find(':', a + 1), c = text.find(':', b + 1);
        std::int64_t sent_ns = 0;
        if (c != std::string_view::npos)
          std::from_chars(text.data() + b + 1, text.data() + c, sent_ns);
        if (t >= st_.window_start_ns.load(std::memory_order_relaxed) &&
            t < st_.window_end_ns.load(std::memory_order_relaxed)) {
          bump(st_.delivered_in_window);
          if (sent_ns > 0) {
            auto us = (t - sent_ns) / 1000;
            st_.latencies_us.push_back(static_cast<std::uint32_t>(us));
            if (us > st_.latency_max_us.load(std::memory_order_relaxed))
              st_.latency_max_us.store(us, std::memory_order_relaxed);
          }
        }
        if (sender_ && index_text_ == text.substr(0, a))
          bump(st_.acked[static_cast<std::size_t>(room_)]);
      } else if (e.type == "joined") {
        if (drained_ns_ > 0) {
          st_.rejoined_us.push_back(static_cast<std::uint32_t>((t - drained_ns_) / 1000));
          bump(st_.rejoined);
          return;
        }
        bump(st_.joined);
        if (st_.opts.scenario == "storm") {
          st_.joined_us.push_back(static_cast<std::uint32_t>((t - started_ns_) / 1000));
          st_.joined_bytes.fetch_add(static_cast<std::int64_t>(e.raw.size()), std::memory_order_relaxed);
        }
      } else if (e.type == "presence" || e.type == "presence_diff") {
        bump(st_.presence_events);
        st_.presence_bytes.fetch_add(static_cast<std::int64_t>(e.raw.size()), std::memory_order_relaxed);
      } else if (e.type == "error") {
        if (e.raw.find("join again later") != std::string_view::npos) {
          // A node too busy to admit the join in time: again, as a person's
          // client would, after a random pause that doubles with each try.
          bump(st_.join_retries);
          auto ceiling = std::min(15000, 500 << std::min(join_tries_++, 5));
          timer_.expires_after(std::chrono::milliseconds(250 + std::rand() % ceiling));
          timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec)
              self->join();
          });
          return;
        }
        if (++st_.errors <= 3)
          std::cerr << "client " << index_ << ": " << e.raw.substr(0, 160) << "\n";
      }
    });
  }

  void fail(const char* what, boost::system::error_code ec) {
    if (failed_)
      return;
    failed_ = true;
    // storm: a node draining (1012) or stopping (1001) sends its clients to
    // the next node, as a balancer would, and they join again there.
    if (st_.opts.scenario == "storm" && (close_code_ == 1012 || close_code_ == 1001) &&
        st_.opts.urls.size() > 1) {
      bump(st_.drained);
      auto next = std::make_shared<client>(st_, index_, (url_index_ + 1) % st_.opts.urls.size(), source_);
      next->drained_ns_ = now_ns();
      next->start();
      return;
    }
    if (++st_.closed <= 3)
      std::cerr << "client " << index_ << ": " << what << ": " << ec.message() << " (close " << close_code_
                << " " << close_reason_ << ")\n";
  }

  std::size_t url_index_;
  std::int64_t drained_ns_ = 0; ///< when a drain closed this client's first connection
  tcp::socket socket_;
  std::vector<char> in_; ///< bytes read, frames from begin_ to end_
  std::size_t begin_ = 0, end_ = 0;
  std::string fragments_; ///< a fragmented message so far
  unsigned close_code_ = 0;
  std::string close_reason_;
  net::steady_timer timer_;
  thread_state& st_;
  int index_;
  std::string index_text_;
  endpoint ep_;
  std::string source_;
  int room_ = 0;
  bool sender_ = false;
  bool failed_ = false;
  int join_tries_ = 0;
  std::vector<std::string> queue_;
  std::int64_t started_ns_ = 0, until_ns_ = 0, next_seq_ = 0;
  std::atomic<std::int64_t> received_{0};
  clock_type::time_point next_at_;
  std::chrono::nanoseconds period_{0};
  msg_id last_;
  bool have_last_ = false;
};

/// Waits until `done` holds or `seconds` pass; the load threads run meanwhile.
template <class Pred>
bool wait_until(Pred done, double seconds) {
  auto deadline = clock_type::now() +
                  std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
  while (!done()) {
    if (clock_type::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

double percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty())
    return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0; // ms
}

// -- scenarios ----------------------------------------------------------------------

/// The load threads: one I/O loop each, clients spread over them.
class load_threads {
public:
  explicit load_threads(const options& o) {
    for (int i = 0; i < o.threads; ++i)
      states_.push_back(std::make_unique<thread_state>(o));
    for (auto& st : states_) {
      guards_.emplace_back(net::make_work_guard(st->ioc));
      threads_.emplace_back([&ioc = st->ioc] { ioc.run(); });
    }
  }
  ~load_threads() { stop(); }

  void stop() {
    guards_.clear();
    for (auto& st : states_)
      st->ioc.stop();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

  thread_state& at(std::size_t i) { return *states_[i % states_.size()]; }

  /// Sum of one counter over the threads.
  std::int64_t sum(counter thread_state::*field) const {
    std::int64_t total = 0;
    for (auto& st : states_)
      total += ((*st).*field).load(std::memory_order_relaxed);
    return total;
  }

  std::int64_t acked(std::size_t room) const {
    std::int64_t total = 0;
    for (auto& st : states_)
      total += st->acked[room].load(std::memory_order_relaxed);
    return total;
  }

  void set_window(std::int64_t start, std::int64_t end) {
    for (auto& st : states_) {
      st->window_start_ns = start;
      st->window_end_ns = end;
    }
  }

  /// Samples of every thread; call after stop().
  std::vector<std::uint32_t> merged(std::vector<std::uint32_t> thread_state::*field) const {
    std::vector<std::uint32_t> all;
    for (auto& st : states_)
      all.insert(all.end(), ((*st).*field).begin(), ((*st).*field).end());
    return all;
  }

private:
  std::vector<std::unique_ptr<thread_state>> states_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

/// Runs `f(client)` on the client's own thread.
template <class F>
void on_thread(const std::shared_ptr<client>& c, F f) {
  net::post(c->state().ioc, [c, f] { f(*c); });
}

int run(const options& o) {
  load_threads threads{o};
  std::vector<std::shared_ptr<client>> clients;
  auto rss_before = total_rss(o.pids);
  auto connected = [&] { return threads.sum(&thread_state::connected); };
  auto closed = [&] { return threads.sum(&thread_state::closed); };

  // Connect in waves so the accept queue is not flooded.
  double storm_cpu_before = total_cpu(o.pids);
  std::vector<double> storm_redis_before;
  for (int p : o.redis_pids)
    storm_redis_before.push_back(total_cpu({p}));
  auto t0 = now_ns();
  for (int i = 0; i < o.clients; ++i) {
    auto c = std::make_shared<client>(threads.at(static_cast<std::size_t>(i)), i,
                                      static_cast<std::size_t>(i) % o.urls.size(),
                                      o.sources[static_cast<std::size_t>(i) % o.sources.size()]);
    clients.push_back(c);
    on_thread(c, [](client& cl) { cl.start(); });
    if (o.connect_rate > 0) {
      auto due = t0 + static_cast<std::int64_t>(1e9 * (i + 1) / o.connect_rate);
      if (auto wait = due - now_ns(); wait > 0)
        std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    }
    if (i % 200 == 199)
      wait_until([&] { return connected() + closed() >= i + 1 - 100; }, 30);
  }
  bool all_connected = wait_until([&] { return connected() + closed() >= o.clients; }, 60);
  if (!all_connected)
    std::cerr << "chatbench: only " << connected() << " of " << o.clients << " connected within 60 s\n";
  double connect_s = static_cast<double>(now_ns() - t0) / 1e9;
  auto rss_connected = total_rss(o.pids);
  auto connected_count = connected();

  std::ostringstream out;
  std::ostringstream tail; // written once the threads have stopped
  out << "{\"scenario\":\"" << o.scenario << "\",\"clients\":" << o.clients << ",\"threads\":" << o.threads
      << ",\"connected\":" << connected_count << ",\"connect_seconds\":" << connect_s
      << ",\"connects_per_second\":" << static_cast<double>(connected_count) / std::max(connect_s, 1e-9);

  if (o.scenario == "storm") {
    auto joined = [&] { return threads.sum(&thread_state::joined); };
    if (!wait_until([&] { return joined() >= connected_count; }, 60))
      std::cerr << "chatbench: only " << joined() << " of " << connected_count << " joined within 60 s\n";
    double all_joined_s = static_cast<double>(now_ns() - t0) / 1e9;
    double cpu = total_cpu(o.pids) - storm_cpu_before;
    std::string redis_cpu = "[";
    for (std::size_t i = 0; i < o.redis_pids.size(); ++i)
      redis_cpu += (i ? "," : "") + std::to_string(total_cpu({o.redis_pids[i]}) - storm_redis_before[i]);
    redis_cpu += "]";
    // Presence still on its way when the last joined arrived.
    auto settle = clock_type::now() + std::chrono::seconds(2);
    wait_until([&] { return clock_type::now() > settle; }, 3);
    auto per_join = [&](counter thread_state::*field) {
      return static_cast<double>(threads.sum(field)) /
             static_cast<double>(std::max<std::int64_t>(1, joined()));
    };
    tail << ",\"joined\":" << joined() << ",\"all_joined_seconds\":" << all_joined_s
         << ",\"presence_events_per_join\":" << per_join(&thread_state::presence_events)
         << ",\"presence_bytes_per_join\":" << per_join(&thread_state::presence_bytes)
         << ",\"joined_bytes_per_join\":" << per_join(&thread_state::joined_bytes)
         << ",\"server_cpu_seconds\":" << cpu << ",\"redis_cpu_seconds\":" << redis_cpu
         << ",\"join_retries\":" << threads.sum(&thread_state::join_retries)
         << ",\"errors\":" << threads.sum(&thread_state::errors);
    // The clients stay in the room until stdin ends (when it is not a
    // terminal), so that the caller can read counters (Redis's, say) first.
    // "drain N" on stdin: a node is draining N of them, which join again on
    // the next node; "settled" again once they have.
    if (isatty(STDIN_FILENO) == 0) {
      // Deliveries count from here: only broadcasts are sent after it.
      threads.set_window(now_ns(), now_ns() + static_cast<std::int64_t>(3600e9));
      std::int64_t broadcasts = 0;
      std::cout << "settled" << std::endl;
      for (std::string line; std::getline(std::cin, line);) {
        if (line == "broadcast") {
          ++broadcasts;
          for (std::size_t i = 0; i < static_cast<std::size_t>(o.threads); ++i)
            threads.at(i).latency_max_us.store(0); // nothing is on its way before the send
          auto start = now_ns();
          if (o.senders > 0 && !clients.empty())
            on_thread(clients.front(), [](client& cl) { cl.send_one(); });
          auto expected = broadcasts * joined();
          bool all =
            wait_until([&] { return threads.sum(&thread_state::delivered_in_window) >= expected; }, 120);
          std::int64_t max_us = 0;
          for (std::size_t i = 0; i < static_cast<std::size_t>(o.threads); ++i)
            max_us = std::max<std::int64_t>(max_us, threads.at(i).latency_max_us.load());
          std::cout << "broadcast {\"round\":" << broadcasts << ",\"all\":" << (all ? "true" : "false")
                    << ",\"received\":" << threads.sum(&thread_state::delivered_in_window)
                    << ",\"expected\":" << expected << ",\"last_ms\":" << static_cast<double>(max_us) / 1000
                    << ",\"waited_ms\":" << static_cast<double>(now_ns() - start) / 1e6 << "}" << std::endl;
          continue;
        }
        if (line.rfind("drain ", 0) != 0)
          continue;
        auto expected = std::stoll(line.substr(6));
        if (!wait_until([&] { return threads.sum(&thread_state::rejoined) >= expected; }, 60))
          std::cerr << "chatbench: only " << threads.sum(&thread_state::rejoined) << " of " << expected
                    << " drained clients joined again within 60 s\n";
        auto drained_settle = clock_type::now() + std::chrono::seconds(2);
        wait_until([&] { return clock_type::now() > drained_settle; }, 3);
        std::cout << "settled" << std::endl;
      }
    }
    tail << ",\"drained\":" << threads.sum(&thread_state::drained)
         << ",\"rejoined\":" << threads.sum(&thread_state::rejoined) << ",\"closed\":" << closed() << "}";
  } else if (o.scenario == "conns") {
    auto settle = clock_type::now() + std::chrono::seconds(2);
    wait_until([&] { return clock_type::now() > settle; }, 3);
    rss_connected = total_rss(o.pids);
    tail << ",\"all_connected\":" << (all_connected ? "true" : "false")
         << ",\"rss_before_bytes\":" << rss_before << ",\"rss_connected_bytes\":" << rss_connected
         << ",\"rss_per_connection_bytes\":"
         << static_cast<double>(rss_connected - rss_before) /
              static_cast<double>(std::max<std::int64_t>(1, connected_count))
         << "}";
  } else {
    for (auto& c : clients)
      on_thread(c, [](client& cl) { cl.join(); });
    if (!wait_until([&] { return threads.sum(&thread_state::joined) >= connected(); }, 60))
      std::cerr << "chatbench: only " << threads.sum(&thread_state::joined) << " of " << connected()
                << " clients joined within 60 s\n";
    // Let presence settle, then send.
    auto settle = clock_type::now() + std::chrono::milliseconds(500);
    wait_until([&] { return clock_type::now() > settle; }, 2);
    double cpu_before = total_cpu(o.pids);
    std::vector<double> redis_cpu_before;
    for (int p : o.redis_pids)
      redis_cpu_before.push_back(total_cpu({p}));
    auto start = now_ns();
    std::int64_t window_start = 0, window_end = 0;
    if (o.scenario == "burst") {
      window_start = start;
      window_end = start + static_cast<std::int64_t>(3600e9);
      threads.set_window(window_start, window_end);
      for (auto& c : clients)
        if (c->sender())
          on_thread(c, [count = o.count](client& cl) {
            for (int k = 0; k < count; ++k)
              cl.send_one();
          });
    } else {
      window_start = start + static_cast<std::int64_t>(o.warmup * 1e9);
      window_end = start + static_cast<std::int64_t>(o.duration * 1e9);
      threads.set_window(window_start, window_end);
      for (auto& c : clients)
        on_thread(c, [rate = o.rate, window_end](client& cl) { cl.start_sending(rate, window_end); });
    }
    // Wait until every member has every acknowledged message of its room.
    if (o.scenario != "burst")
      wait_until([&] { return now_ns() >= window_end; }, o.duration + 5);
    std::int64_t last_seen = -1;
    auto quiet_since = clock_type::now();
    wait_until(
      [&] {
        auto delivered = threads.sum(&thread_state::delivered);
        if (delivered != last_seen) {
          last_seen = delivered;
          quiet_since = clock_type::now();
        }
        bool caught_up = std::all_of(clients.begin(), clients.end(), [&](const auto& c) {
          return c->received() >= threads.acked(static_cast<std::size_t>(c->room()));
        });
        return caught_up || clock_type::now() - quiet_since > std::chrono::seconds(3);
      },
      120);
    auto end = now_ns();
    double cpu = total_cpu(o.pids) - cpu_before;
    std::string redis_cpu = "[";
    for (std::size_t i = 0; i < o.redis_pids.size(); ++i)
      redis_cpu += (i ? "," : "") + std::to_string(total_cpu({o.redis_pids[i]}) - redis_cpu_before[i]);
    redis_cpu += "]";
    std::int64_t lost = 0;
    for (auto& c : clients)
      lost += std::max<std::int64_t>(0, threads.acked(static_cast<std::size_t>(c->room())) - c->received());
    double window_s =
      static_cast<double>(o.scenario == "burst" ? end - start : window_end - window_start) / 1e9;
    std::int64_t sent = 0;
    for (std::size_t r = 0; r < static_cast<std::size_t>(o.rooms); ++r)
      sent += threads.acked(r);
    auto delivered = threads.sum(&thread_state::delivered);
    tail << ",\"rooms\":" << o.rooms << ",\"senders\":" << o.senders << ",\"rate_per_sender\":" << o.rate
         << ",\"size\":" << o.size << ",\"offered_deliveries_per_second\":"
         << (o.scenario == "burst" ? 0.0 : o.rate * o.senders * (static_cast<double>(o.clients) / o.rooms))
         << ",\"messages_acknowledged\":" << sent << ",\"delivered\":" << delivered
         << ",\"delivered_per_second\":"
         << static_cast<double>(threads.sum(&thread_state::delivered_in_window)) / window_s
         << ",\"lost\":" << lost << ",\"duplicates\":" << threads.sum(&thread_state::duplicates)
         << ",\"out_of_order\":" << threads.sum(&thread_state::out_of_order)
         << ",\"errors\":" << threads.sum(&thread_state::errors) << ",\"closed\":" << closed()
         << ",\"server_cpu_seconds\":" << cpu << ",\"server_cpu_us_per_delivery\":"
         << (delivered > 0 ? cpu * 1e6 / static_cast<double>(delivered) : 0)
         << ",\"server_rss_bytes\":" << total_rss(o.pids) << ",\"redis_cpu_seconds\":" << redis_cpu;
  }
  for (auto& c : clients)
    on_thread(c, [](client& cl) { cl.close(); });
  threads.stop();
  auto cu = threads.merged(&thread_state::connect_us);
  out << ",\"connect_ms_p50\":" << percentile(cu, 0.5) << ",\"connect_ms_p99\":" << percentile(cu, 0.99);
  if (o.scenario == "storm") {
    auto jl = threads.merged(&thread_state::joined_us);
    double max_ms = jl.empty() ? 0 : *std::max_element(jl.begin(), jl.end()) / 1000.0;
    auto rl = threads.merged(&thread_state::rejoined_us);
    out << ",\"joined_ms_p50\":" << percentile(jl, 0.5) << ",\"joined_ms_p99\":" << percentile(jl, 0.99)
        << ",\"joined_ms_max\":" << max_ms << ",\"rejoined_ms_p50\":" << percentile(rl, 0.5)
        << ",\"rejoined_ms_p99\":" << percentile(rl, 0.99);
  } else if (o.scenario != "conns") {
    auto lat = threads.merged(&thread_state::latencies_us);
    double max_ms = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()) / 1000.0;
    out << ",\"latency_ms_p50\":" << percentile(lat, 0.5) << ",\"latency_ms_p99\":" << percentile(lat, 0.99)
        << ",\"latency_ms_p999\":" << percentile(lat, 0.999) << ",\"latency_ms_max\":" << max_ms;
    tail << "}";
  }
  out << tail.str();
  std::cout << out.str() << std::endl;
  if (!o.json_path.empty())
    std::ofstream{o.json_path} << out.str() << '\n';
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "chatbench: " << e.what() << '\n';
    return 2;
  }
}
