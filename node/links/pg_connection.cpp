#include "node/links/pg_connection.hpp"

#include "node/process/log.hpp"

#include <boost/asio/post.hpp>

#include <libpq-fe.h>

namespace chatnode {

namespace net = boost::asio;

namespace {

/// libpq prints NOTICEs (e.g. "already exists, skipping") to stderr unless told otherwise.
void ignore_notice(void*, const char*) {}

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

} // namespace

pg_connection::pg_connection(net::io_context& ioc, std::string url, std::string name, pg_events events,
                             timing t)
  : strand_(net::make_strand(ioc)),
    url_(std::move(url)),
    name_(std::move(name)),
    events_(std::move(events)),
    timing_(t),
    reconnector_(strand_, t.backoff_min, t.backoff_max),
    deadline_(strand_) {}

pg_connection::~pg_connection() {
  // Nothing else runs on the strand any more.
  if (socket_) {
    boost::system::error_code ec;
    socket_->cancel(ec);
    socket_->release();
  }
  if (conn_ != nullptr)
    PQfinish(conn_);
}

void pg_connection::start() {
  net::post(strand_, [self = shared_from_this()] { self->connect(); });
}

void pg_connection::stop() {
  net::post(strand_, [self = shared_from_this()] {
    self->reconnector_.stop();
    self->fail("closed");
  });
}

void pg_connection::query(std::string sql, pg_params params, pg_callback done) {
  net::post(strand_, [self = shared_from_this(),
                      s = statement{std::move(sql), std::move(params), std::move(done)}]() mutable {
    if (!self->connected_) {
      s.done(pg_result::failure("the archive database is not connected"));
      return;
    }
    self->queue_.push_back(std::move(s));
    if (!self->running_)
      self->send_next();
  });
}

// -- connecting ----------------------------------------------------------------

void pg_connection::connect() {
  if (reconnector_.stopped())
    return;
  ++link_;
  conn_ = PQconnectStart(url_.c_str());
  if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
    fail(conn_ != nullptr ? trimmed(PQerrorMessage(conn_)) : "out of memory");
    return;
  }
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  deadline_.expires_after(timing_.connect_timeout);
  deadline_.async_wait([self = shared_from_this(), link = link_](boost::system::error_code ec) {
    if (!ec && link == self->link_ && !self->connected_)
      self->fail("connect timed out");
  });
  // libpq's rule: before the first poll, act as if it had asked to write.
  wait_socket(true, &pg_connection::poll_connect);
}

void pg_connection::poll_connect() {
  switch (PQconnectPoll(conn_)) {
    case PGRES_POLLING_READING: wait_socket(false, &pg_connection::poll_connect); return;
    case PGRES_POLLING_WRITING: wait_socket(true, &pg_connection::poll_connect); return;
    case PGRES_POLLING_OK: break;
    default: fail(trimmed(PQerrorMessage(conn_))); return;
  }
  if (PQsetnonblocking(conn_, 1) != 0) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  deadline_.cancel();
  connected_ = true;
  reconnector_.connected();
  log::info("archive_connected", {{"link", name_}});
  if (events_.up)
    events_.up();
  watch_idle();
}

/// Waits until the socket is ready, then calls `then` (if the link is still this one).
void pg_connection::wait_socket(bool for_write, void (pg_connection::*then)()) {
  int fd = PQsocket(conn_);
  if (fd < 0) {
    fail("no socket");
    return;
  }
  if (fd != socket_fd_ || !socket_) { // libpq may open a new socket while connecting
    if (socket_)
      socket_->release();
    socket_ = std::make_unique<net::posix::stream_descriptor>(strand_, fd);
    socket_fd_ = fd;
  }
  socket_->async_wait(
    for_write ? net::posix::descriptor_base::wait_write : net::posix::descriptor_base::wait_read,
    [self = shared_from_this(), link = link_, then](boost::system::error_code ec) {
      if (ec || link != self->link_ || self->conn_ == nullptr)
        return;
      ((*self).*then)();
    });
}

// -- statements ------------------------------------------------------------------

void pg_connection::send_next() {
  if (queue_.empty() || !connected_)
    return;
  auto& s = queue_.front();
  std::vector<const char*> values;
  values.reserve(s.params.size());
  for (const auto& p : s.params)
    values.push_back(p ? p->c_str() : nullptr);
  // Without parameters a text may hold several statements (the schema), which only the simple protocol runs.
  int sent = values.empty() ? PQsendQuery(conn_, s.sql.c_str())
                            : PQsendQueryParams(conn_, s.sql.c_str(), static_cast<int>(values.size()),
                                                nullptr, values.data(), nullptr, nullptr, 0);
  if (sent == 0) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  running_ = true;
  current_ = {};
  deadline_.expires_after(timing_.query_timeout);
  deadline_.async_wait([self = shared_from_this(), link = link_](boost::system::error_code ec) {
    if (!ec && link == self->link_ && self->running_)
      self->fail("a statement ran too long");
  });
  flush();
}

void pg_connection::flush() {
  switch (PQflush(conn_)) {
    case 0: wait_socket(false, &pg_connection::read_results); return;
    case 1: wait_socket(true, &pg_connection::flush); return;
    default: fail(trimmed(PQerrorMessage(conn_)));
  }
}

void pg_connection::read_results() {
  if (PQconsumeInput(conn_) == 0) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  while (PQisBusy(conn_) == 0) {
    PGresult* res = PQgetResult(conn_);
    if (res == nullptr) { // the statement is over
      finish_statement(std::move(current_));
      return;
    }
    auto status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      int rows = PQntuples(res), cols = PQnfields(res);
      current_.rows.reserve(current_.rows.size() + static_cast<std::size_t>(rows));
      for (int r = 0; r < rows; ++r) {
        auto& row = current_.rows.emplace_back();
        row.reserve(static_cast<std::size_t>(cols));
        for (int c = 0; c < cols; ++c) {
          if (PQgetisnull(res, r, c))
            row.emplace_back();
          else
            row.emplace_back(
              std::string{PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c))});
        }
      }
    } else if (current_.error.empty()) {
      current_.error = trimmed(PQresultErrorMessage(res));
      if (current_.error.empty())
        current_.error = PQresStatus(status);
    }
    PQclear(res);
  }
  wait_socket(false, &pg_connection::read_results);
}

void pg_connection::finish_statement(pg_result result) {
  deadline_.cancel();
  running_ = false;
  auto s = std::move(queue_.front());
  queue_.pop_front();
  s.done(std::move(result));
  send_next();
  if (!running_)
    watch_idle();
}

/// While no statement runs, a readable socket means the server said
/// something unasked (most often that it is shutting down) or closed it: the
/// link is checked at once, not at the next statement.
void pg_connection::watch_idle() {
  if (idle_watched_ || !connected_ || running_)
    return;
  idle_watched_ = true;
  socket_->async_wait(net::posix::descriptor_base::wait_read,
                      [self = shared_from_this(), link = link_](boost::system::error_code ec) {
                        if (link != self->link_)
                          return;
                        self->idle_watched_ = false;
                        if (!ec && !self->running_ && self->connected_)
                          self->idle_readable();
                      });
}

void pg_connection::idle_readable() {
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) == CONNECTION_BAD) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  while (PGnotify* n = PQnotifies(conn_))
    PQfreemem(n);
  watch_idle();
}

// -- failure -----------------------------------------------------------------------

void pg_connection::close_link() {
  ++link_;
  idle_watched_ = false;
  deadline_.cancel();
  if (socket_) {
    boost::system::error_code ec;
    socket_->cancel(ec);
    socket_->release(); // libpq owns the descriptor
    socket_.reset();
  }
  socket_fd_ = -1;
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

void pg_connection::fail(const std::string& reason) {
  bool was_up = connected_;
  connected_ = false;
  running_ = false;
  close_link();
  auto waiting = std::move(queue_);
  queue_.clear();
  for (auto& s : waiting)
    s.done(pg_result::failure("archive link lost: " + reason));
  if (!reconnector_.stopped())
    log::warn(was_up ? "archive_link_down" : "archive_connect_failed", {{"link", name_}, {"reason", reason}});
  if (events_.down)
    events_.down(reason);
  reconnector_.retry_later([self = shared_from_this()] { self->connect(); });
}

} // namespace chatnode
