#pragma once
// A libpq connection driven by Asio: libpq's non-blocking interface
// (PQconnectStart/PQconnectPoll, PQsendQueryParams, PQconsumeInput), its
// socket watched with a posix::stream_descriptor, every libpq call on one
// strand. Statements run one at a time in the order sent; the connection
// comes back by itself (backoff with jitter) after any failure, and what was
// waiting when it fell is answered with an error, never retried here.

#include "actors/archive/pg_port.hpp"
#include "node/links/link_reconnector.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>

struct pg_conn;

namespace chatnode {

class pg_connection : public pg_port, public std::enable_shared_from_this<pg_connection> {
public:
  struct timing {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds query_timeout{30000}; ///< a statement running longer drops the link
    std::chrono::milliseconds backoff_min{200};
    std::chrono::milliseconds backoff_max{10000};
  };

  /// `url`: a libpq connection string or postgresql:// URI; `name` is for logs.
  pg_connection(boost::asio::io_context& ioc, std::string url, std::string name, pg_events events, timing t);
  ~pg_connection() override;

  /// Starts connecting; call once.
  void start();
  /// Closes for good; waiting statements get an error.
  void stop();

  void query(std::string sql, pg_params params, pg_callback done) override;

private:
  struct statement {
    std::string sql;
    pg_params params;
    pg_callback done;
  };

  void connect();
  void poll_connect();
  void wait_socket(bool for_write, void (pg_connection::*then)());
  void send_next();
  void flush();
  void read_results();
  void finish_statement(pg_result result);
  void watch_idle();
  void idle_readable();
  void fail(const std::string& reason);
  void close_link();

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::string url_;
  std::string name_;
  pg_events events_;
  timing timing_;
  link_reconnector reconnector_;
  boost::asio::steady_timer deadline_; ///< the connect or the running statement
  std::unique_ptr<boost::asio::posix::stream_descriptor> socket_;
  ::pg_conn* conn_ = nullptr;
  int socket_fd_ = -1;
  bool connected_ = false;
  std::uint64_t link_ = 0; ///< counts links, so a handler of an old one does nothing
  std::deque<statement> queue_;
  bool running_ = false;      ///< queue_.front() was sent
  bool idle_watched_ = false; ///< a read wait is armed while no statement runs
  pg_result current_;
};

} // namespace chatnode
