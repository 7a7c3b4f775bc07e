#include "node/files/s3_client.hpp"

#include "node/files/s3_transport.hpp"
#include "node/files/s3_upload.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include <charconv>
#include <chrono>

// g++ 12 at -O1 (the sanitizer builds) takes the frame of one of these
// coroutines, allocated and freed by Asio's own operator new and delete,
// for a mismatched pair: a false positive, which -Werror would make fatal.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace chatnode {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using clock = s3_connection::clock;

/// A ListObjectsV2 page of 1000 keys is about 300 KiB.
constexpr std::size_t max_listing_bytes = 1024 * 1024;

/// What a connection kept idle fails with when the server closed it meanwhile.
bool closed_while_idle(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe;
}

/// Whether S3 asks for the request again: 500 and 503 are transient by its
/// own documentation (503 is "slow down"), and gateways before a store
/// answer 502 and 504. (s3rver also answers 500 to a HEAD that races a PUT
/// of the same key, which a download's look-up can meet when the message's
/// "sent" mark is being written.)
bool worth_retrying(const s3_response& answer) {
  auto status = answer.header.result_int();
  return status == 500 || status == 502 || status == 503 || status == 504;
}

/// One request with its whole body, and its answer. A kept connection the
/// server had closed meanwhile is replaced once by a new one; an answer that
/// asks for the request again gets it twice more, 50 and then 200 ms later,
/// within the request's time. The request is whole, so sending it again is
/// safe, and every S3 request made here (PUT of a whole object, GET, HEAD,
/// DELETE, a listing) is idempotent.
net::awaitable<s3_response> exchange(std::shared_ptr<s3_transport> transport, s3_call call, std::string body,
                                     bool head, std::size_t max_body) {
  using namespace std::chrono_literals;
  auto until = clock::now() + transport->config.request_timeout;
  int stale_retries = 0;
  int busy_retries = 0;
  for (;;) {
    std::string host;
    http::request<http::string_body> request{transport->signed_header(call, host)};
    request.body() = body;
    request.prepare_payload();
    bool reused = false;
    auto connection = co_await transport->connect(host, until, reused);
    s3_response answer;
    try {
      co_await connection->send(request);
      answer = co_await connection->receive(head, max_body);
    } catch (const boost::system::system_error& e) {
      if (!reused || stale_retries++ > 0 || !closed_while_idle(e.code()))
        throw;
      continue;
    }
    if (answer.keep_alive)
      transport->keep(host, std::move(connection));
    auto pause = busy_retries == 0 ? 50ms : 200ms;
    if (busy_retries == 2 || !worth_retrying(answer) || clock::now() + pause >= until)
      co_return answer;
    ++busy_retries;
    net::steady_timer timer{co_await net::this_coro::executor};
    timer.expires_after(pause);
    co_await timer.async_wait(net::use_awaitable);
  }
}

/// Runs an operation on the io_context; `done` gets its result, or the
/// reason it failed.
template <class Result>
void run(net::io_context& io, net::awaitable<Result> operation, std::function<void(Result)> done) {
  net::co_spawn(io, std::move(operation),
                [done = std::move(done)](std::exception_ptr failure, Result result) {
                  if (failure) {
                    result = {};
                    result.error = describe_s3_failure(failure);
                  }
                  done(std::move(result));
                });
}

std::vector<std::pair<std::string, std::string>> content_type_header(const std::string& content_type) {
  if (content_type.empty())
    return {};
  return {{"content-type", content_type}};
}

s3_object_result object_result_of(s3_response answer) {
  s3_object_result result;
  read_s3_answer(answer, result);
  const auto& header = answer.header;
  auto length = header[http::field::content_length];
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), value);
  if (!length.empty() && error == std::errc{} && end == length.data() + length.size())
    result.content_length = value;
  result.content_type = header[http::field::content_type];
  result.content_range = header[http::field::content_range];
  result.last_modified = header[http::field::last_modified];
  if (result.ok())
    result.body = std::move(answer.body);
  return result;
}

net::awaitable<s3_result> put(std::shared_ptr<s3_transport> transport, std::string key, std::string body,
                              std::string content_type) {
  s3_call call{http::verb::put, std::move(key), {}, content_type_header(content_type), sha256_hex(body)};
  auto answer = co_await exchange(std::move(transport), std::move(call), std::move(body), false,
                                  s3_connection::max_small_body);
  s3_result result;
  read_s3_answer(answer, result);
  co_return result;
}

/// A get's or a head's request, with its Range header when a range is asked.
s3_call object_call(std::string key, const std::optional<s3_byte_range>& range, bool head) {
  s3_call call{head ? http::verb::head : http::verb::get, std::move(key), {}, {}, sha256_hex("")};
  if (range) {
    auto last = range->last ? std::to_string(*range->last) : std::string{};
    call.headers.emplace_back("range", "bytes=" + std::to_string(range->first) + '-' + last);
  }
  return call;
}

net::awaitable<s3_object_result> get(std::shared_ptr<s3_transport> transport, s3_call call,
                                     std::size_t max_bytes, bool head) {
  co_return object_result_of(co_await exchange(std::move(transport), std::move(call), {}, head, max_bytes));
}

net::awaitable<s3_result> remove(std::shared_ptr<s3_transport> transport, std::string key) {
  s3_call call{http::verb::delete_, std::move(key), {}, {}, sha256_hex("")};
  auto answer =
    co_await exchange(std::move(transport), std::move(call), {}, false, s3_connection::max_small_body);
  s3_result result;
  read_s3_answer(answer, result);
  co_return result;
}

net::awaitable<s3_list_result> list(std::shared_ptr<s3_transport> transport, std::string prefix,
                                    std::string continuation_token, int max_keys) {
  s3_call call{
    http::verb::get, {}, {{"list-type", "2"}, {"max-keys", std::to_string(max_keys)}}, {}, sha256_hex("")};
  if (!prefix.empty())
    call.query.emplace_back("prefix", std::move(prefix));
  if (!continuation_token.empty())
    call.query.emplace_back("continuation-token", std::move(continuation_token));
  auto answer = co_await exchange(std::move(transport), std::move(call), {}, false, max_listing_bytes);
  s3_list_result result;
  read_s3_answer(answer, result);
  if (result.ok())
    result.listing = parse_s3_listing(answer.body);
  co_return result;
}

} // namespace

s3_client::s3_client(net::io_context& io, s3_config config)
  : transport_{std::make_shared<s3_transport>(io, std::move(config))} {}

s3_client::~s3_client() = default;

void s3_client::put_object(std::string key, std::string body, std::string content_type,
                           std::function<void(s3_result)> done) {
  run(transport_->io, put(transport_, std::move(key), std::move(body), std::move(content_type)),
      std::move(done));
}

void s3_client::get_object(std::string key, std::optional<s3_byte_range> range, std::size_t max_bytes,
                           std::function<void(s3_object_result)> done) {
  run(transport_->io, get(transport_, object_call(std::move(key), range, false), max_bytes, false),
      std::move(done));
}

void s3_client::head_object(std::string key, std::function<void(s3_object_result)> done) {
  run(transport_->io, get(transport_, object_call(std::move(key), std::nullopt, true), 0, true),
      std::move(done));
}

void s3_client::delete_object(std::string key, std::function<void(s3_result)> done) {
  run(transport_->io, remove(transport_, std::move(key)), std::move(done));
}

void s3_client::list_objects(std::string prefix, std::string continuation_token,
                             std::function<void(s3_list_result)> done, int max_keys) {
  run(transport_->io, list(transport_, std::move(prefix), std::move(continuation_token), max_keys),
      std::move(done));
}

std::shared_ptr<s3_upload> s3_client::start_put(std::string key, std::uint64_t content_length,
                                                std::string content_type,
                                                std::function<void(s3_result)> complete) {
  return std::make_shared<s3_upload>(transport_, std::move(key), content_length, std::move(content_type),
                                     std::move(complete));
}

std::size_t s3_client::idle_connections() const {
  return transport_->idle_count();
}

} // namespace chatnode
