// floor: the least a chat server must do for chatbench's load, with no chat
// logic, to measure what any server spends (BENCHMARKS.md, "The floor").
//
//   floor --listen 127.0.0.1:9301 [--listen 127.0.0.1:9302] [--coalesce-ms 10]
//
// One thread, epoll, non-blocking sockets. It accepts the same clients
// (WebSocket upgrade; /readyz and /healthz answer "ok"), reads their frames,
// answers `join` with a bare `joined`, and for each `send` writes the same
// `message` event chatnode writes (same fields, same order, an id and a ts)
// to every client of the room, over every listening port: no bus, no hop
// between nodes. Writes coalesce as chatnode's do: a connection that wrote
// within the last `--coalesce-ms` waits until then, and its events leave
// together as one JSON array frame; a quiet one writes at once (after the
// input of one wake-up is handled). On SIGINT or SIGTERM it prints one JSON
// line: writes, events, bytes written and events per write.
//
// It reads only what chatbench sends: JSON without escapes in the fields it
// looks at. It is a measuring stick, not a server.

#include "ws_frame.hpp"

#include <openssl/sha.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

volatile std::sig_atomic_t stopping = 0;

/// The value of a string field ("key":"value", no escapes), or empty.
std::string_view field(std::string_view json, std::string_view key) {
  std::string pattern = "\"" + std::string{key} + "\":\"";
  auto at = json.find(pattern);
  if (at == std::string_view::npos)
    return {};
  auto start = at + pattern.size();
  auto end = json.find('"', start);
  return end == std::string_view::npos ? std::string_view{} : json.substr(start, end - start);
}

std::string base64(const unsigned char* data, std::size_t n) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = std::uint32_t{data[i]} << 16;
    if (i + 1 < n)
      v |= std::uint32_t{data[i + 1]} << 8;
    if (i + 2 < n)
      v |= data[i + 2];
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < n ? table[(v >> 6) & 63] : '=';
    out += i + 2 < n ? table[v & 63] : '=';
  }
  return out;
}

std::string accept_key(std::string_view key) {
  std::string text{key};
  text += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return base64(digest, sizeof digest);
}

/// An unmasked server frame's header for a payload of `n` bytes.
void append_header(std::string& out, std::size_t n, unsigned opcode = 0x1) {
  out += static_cast<char>(0x80 | opcode);
  if (n < 126) {
    out += static_cast<char>(n);
  } else if (n < 65536) {
    out += static_cast<char>(126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out += static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xff);
  }
}

using event_ptr = std::shared_ptr<const std::string>;

struct connection {
  int fd = -1;
  bool upgraded = false;
  std::string in;                 ///< bytes read, not yet handled
  std::string out;                ///< bytes to write (a partial write's rest)
  std::vector<event_ptr> pending; ///< events for the next write
  std::int64_t last_write_ns = 0;
  bool dirty = false;    ///< has pending events, not yet written or timed
  bool deferred = false; ///< waits for its coalescing window
  bool want_out = false; ///< EPOLLOUT registered
  std::string user;
  std::vector<std::string> rooms;
};

class floor_server {
public:
  explicit floor_server(std::int64_t coalesce_ns)
    : coalesce_ns_(coalesce_ns) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    add(timer_, EPOLLIN);
  }

  void listen_on(const std::string& address) {
    auto colon = address.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 4096) != 0)
      throw std::runtime_error("cannot listen on " + address + ": " + std::strerror(errno));
    listeners_.push_back(fd);
    add(fd, EPOLLIN);
  }

  void run() {
    std::vector<epoll_event> events(1024);
    while (stopping == 0) {
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 200);
      for (int i = 0; i < n; ++i) {
        int fd = events[static_cast<std::size_t>(i)].data.fd;
        auto what = events[static_cast<std::size_t>(i)].events;
        if (fd == timer_) {
          std::uint64_t expirations;
          [[maybe_unused]] auto r = read(timer_, &expirations, sizeof expirations);
          flush_due();
        } else if (is_listener(fd)) {
          accept_all(fd);
        } else if (auto it = conns_.find(fd); it != conns_.end()) {
          auto& c = *it->second;
          if ((what & EPOLLOUT) != 0 && !drain(c))
            continue;
          if ((what & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0)
            read_all(c);
        }
      }
      write_dirty();
    }
    std::printf("{\"writes\":%llu,\"events\":%llu,\"bytes\":%llu,\"events_per_write\":%.3f}\n",
                static_cast<unsigned long long>(writes_), static_cast<unsigned long long>(events_),
                static_cast<unsigned long long>(bytes_),
                writes_ > 0 ? static_cast<double>(events_) / static_cast<double>(writes_) : 0.0);
  }

private:
  void add(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }

  void watch_out(connection& c, bool on) {
    if (c.want_out == on)
      return;
    c.want_out = on;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  bool is_listener(int fd) const {
    for (int l : listeners_)
      if (l == fd)
        return true;
    return false;
  }

  void accept_all(int listener) {
    for (;;) {
      int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<connection>();
      c->fd = fd;
      add(fd, EPOLLIN);
      conns_.emplace(fd, std::move(c));
    }
  }

  void close_connection(connection& c) {
    for (const auto& room : c.rooms) {
      auto& members = rooms_[room];
      std::erase(members, &c);
    }
    std::erase(deferred_, &c);
    std::erase(dirty_, &c);
    ::close(c.fd);
    conns_.erase(c.fd); // frees c
  }

  void read_all(connection& c) {
    char buf[65536];
    for (;;) {
      auto n = read(c.fd, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        close_connection(c);
        return;
      }
      break;
    }
    if (!c.upgraded) {
      auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos)
        return;
      std::string_view head{c.in.data(), end};
      if (head.find("GET /readyz") == 0 || head.find("GET /healthz") == 0) {
        std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        [[maybe_unused]] auto w = write(c.fd, ok.data(), ok.size());
        close_connection(c);
        return;
      }
      auto key_at = head.find("Sec-WebSocket-Key: ");
      if (key_at == std::string_view::npos) {
        close_connection(c);
        return;
      }
      auto key_end = head.find("\r\n", key_at);
      auto key = head.substr(key_at + 19, key_end - key_at - 19);
      std::string reply =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        accept_key(key) + "\r\n\r\n";
      [[maybe_unused]] auto w = write(c.fd, reply.data(), reply.size());
      c.upgraded = true;
      c.in.erase(0, end + 4);
    }
    handle_frames(c);
  }

  /// Unmasks and handles every whole frame read.
  void handle_frames(connection& c) {
    std::size_t at = 0;
    int fd = c.fd;
    while (c.in.size() - at >= 2) {
      auto* p = reinterpret_cast<const unsigned char*>(c.in.data() + at);
      auto frame = bench::read_frame_header(p, c.in.size() - at);
      if (!frame || c.in.size() - at < frame->size + frame->length)
        break;
      std::size_t header = frame->size, key_at = frame->key_at;
      std::uint64_t length = frame->length;
      bool masked = frame->masked;
      std::string payload(c.in.data() + at + header, static_cast<std::size_t>(length));
      if (masked)
        for (std::size_t i = 0; i < payload.size(); ++i)
          payload[i] = static_cast<char>(payload[i] ^ p[key_at + (i & 3)]);
      unsigned opcode = p[0] & 0x0f;
      at += header + static_cast<std::size_t>(length);
      if (opcode == 0x8) {
        close_connection(c);
        return;
      }
      if (opcode == 0x9) {
        std::string pong;
        append_header(pong, payload.size(), 0xA);
        pong += payload;
        [[maybe_unused]] auto w = write(fd, pong.data(), pong.size());
      } else if (opcode == 0x1) {
        on_request(c, payload);
      }
    }
    c.in.erase(0, at);
  }

  void on_request(connection& c, std::string_view json) {
    auto type = field(json, "type");
    auto room = std::string{field(json, "room")};
    if (type == "join") {
      c.user = field(json, "name");
      if (std::find(c.rooms.begin(), c.rooms.end(), room) == c.rooms.end()) {
        c.rooms.push_back(room);
        rooms_[room].push_back(&c);
      }
      queue(c, std::make_shared<const std::string>("{\"type\":\"joined\",\"room\":\"" + room +
                                                   "\",\"members\":[],\"history\":[],\"more\":false}"));
    } else if (type == "send") {
      auto ms = wall_ms();
      seq_ = ms == last_ms_ ? seq_ + 1 : 0;
      last_ms_ = ms;
      std::string event = "{\"type\":\"message\",\"room\":\"" + room + "\",\"id\":\"" + std::to_string(ms) +
                          "-" + std::to_string(seq_) + "\",\"user\":\"" + c.user + "\",\"text\":\"" +
                          std::string{field(json, "text")} + "\",\"ts\":" + std::to_string(ms);
      if (auto cid = field(json, "cid"); !cid.empty())
        event += ",\"cid\":\"" + std::string{cid} + "\"";
      event += '}';
      auto shared = std::make_shared<const std::string>(std::move(event));
      for (auto* member : rooms_[room])
        queue(*member, shared);
    }
  }

  void queue(connection& c, event_ptr event) {
    c.pending.push_back(std::move(event));
    if (!c.dirty && !c.deferred) {
      c.dirty = true;
      dirty_.push_back(&c);
    }
  }

  /// After a wake-up's input: each connection with events writes now if it
  /// is quiet, else waits for its coalescing window.
  void write_dirty() {
    auto now = now_ns();
    for (auto* c : std::exchange(dirty_, {})) {
      c->dirty = false;
      if (coalesce_ns_ > 0 && now - c->last_write_ns < coalesce_ns_) {
        c->deferred = true;
        deferred_.push_back(c); // every wait is as long: due times in this order
        if (deferred_.size() == 1)
          arm(c->last_write_ns + coalesce_ns_);
      } else {
        write_pending(*c, now);
      }
    }
  }

  void arm(std::int64_t due_ns) {
    itimerspec spec{};
    spec.it_value.tv_sec = due_ns / 1000000000;
    spec.it_value.tv_nsec = due_ns % 1000000000;
    timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void flush_due() {
    auto now = now_ns();
    while (!deferred_.empty() && deferred_.front()->last_write_ns + coalesce_ns_ <= now) {
      auto* c = deferred_.front();
      deferred_.pop_front();
      c->deferred = false;
      write_pending(*c, now);
    }
    if (!deferred_.empty())
      arm(deferred_.front()->last_write_ns + coalesce_ns_);
  }

  /// One frame of the pending events (a JSON array when several) and one write.
  void write_pending(connection& c, std::int64_t now) {
    if (c.pending.empty() || !c.out.empty())
      return; // a partial write is still draining: its EPOLLOUT writes these after
    std::size_t size = c.pending.size() > 1 ? c.pending.size() + 1 : 0;
    for (const auto& e : c.pending)
      size += e->size();
    std::string& frame = c.out;
    frame.reserve(size + 10);
    append_header(frame, size);
    if (c.pending.size() > 1)
      frame += '[';
    for (std::size_t i = 0; i < c.pending.size(); ++i) {
      if (i > 0)
        frame += ',';
      frame += *c.pending[i];
    }
    if (c.pending.size() > 1)
      frame += ']';
    events_ += c.pending.size();
    c.pending.clear();
    c.last_write_ns = now;
    drain(c);
  }

  /// Writes what is left of the connection's output; false if it closed.
  bool drain(connection& c) {
    while (!c.out.empty()) {
      auto n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          watch_out(c, true);
          return true;
        }
        close_connection(c);
        return false;
      }
      ++writes_;
      bytes_ += static_cast<std::uint64_t>(n);
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    watch_out(c, false);
    if (!c.pending.empty())
      queue_after_drain(c);
    return true;
  }

  void queue_after_drain(connection& c) {
    if (!c.dirty && !c.deferred) {
      c.dirty = true;
      dirty_.push_back(&c);
    }
  }

  std::int64_t coalesce_ns_;
  int epoll_ = -1;
  int timer_ = -1;
  std::vector<int> listeners_;
  std::unordered_map<int, std::unique_ptr<connection>> conns_;
  std::unordered_map<std::string, std::vector<connection*>> rooms_;
  std::vector<connection*> dirty_;
  std::deque<connection*> deferred_;
  std::int64_t last_ms_ = 0, seq_ = 0;
  std::uint64_t writes_ = 0, events_ = 0, bytes_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> listens;
    double coalesce_ms = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string k = argv[i];
      if (k == "--listen")
        listens.emplace_back(argv[i + 1]);
      else if (k == "--coalesce-ms")
        coalesce_ms = std::stod(argv[i + 1]);
      else
        throw std::runtime_error("usage: floor --listen HOST:PORT [--listen ...] [--coalesce-ms MS]");
    }
    if (listens.empty())
      throw std::runtime_error("--listen is required");
    std::signal(SIGINT, [](int) { stopping = 1; });
    std::signal(SIGTERM, [](int) { stopping = 1; });
    std::signal(SIGPIPE, SIG_IGN);
    floor_server server{static_cast<std::int64_t>(coalesce_ms * 1e6)};
    for (const auto& l : listens)
      server.listen_on(l);
    server.run();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "floor: %s\n", e.what());
    return 2;
  }
}
