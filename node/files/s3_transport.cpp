#include "node/files/s3_transport.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <chrono>
#include <stdexcept>

namespace chatnode {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

s3_endpoint endpoint_of(const std::string& url) {
  auto endpoint = parse_s3_endpoint(url);
  if (!endpoint)
    throw std::invalid_argument{"S3 endpoint is not http(s)://host[:port]: " + url};
  return *endpoint;
}

std::optional<net::ssl::context> tls_for(const s3_endpoint& endpoint) {
  if (!endpoint.tls)
    return std::nullopt;
  std::optional<net::ssl::context> tls{std::in_place, net::ssl::context::tls_client};
  tls->set_default_verify_paths();
  tls->set_verify_mode(net::ssl::verify_peer);
  return tls;
}

} // namespace

s3_transport::s3_transport(net::io_context& io, s3_config config)
  : io{io},
    config{std::move(config)},
    endpoint{endpoint_of(this->config.endpoint)},
    tls{tls_for(endpoint)} {}

http::request_header<> s3_transport::signed_header(const s3_call& call, std::string& host) const {
  auto address = address_s3_object(endpoint, config.bucket, config.path_style, call.key, call.query);
  host = address.connect_host;
  s3_request request;
  request.method = std::string{http::to_string(call.method)};
  request.host = address.host_header;
  request.path = address.path;
  request.query = call.query;
  request.headers = call.headers;
  request.payload_sha256 = call.payload_sha256;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  request.amz_date = amz_date_of(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  request.region = config.region;
  auto signature = s3_sign(request, config.credentials);

  http::request_header<> header;
  header.method(call.method);
  header.target(address.target);
  header.version(11);
  header.set(http::field::host, address.host_header);
  header.set(http::field::user_agent, "chatnode");
  for (const auto& [name, value] : call.headers)
    header.set(name, value);
  header.set("x-amz-date", signature.amz_date);
  header.set("x-amz-content-sha256", signature.content_sha256);
  if (!signature.security_token.empty())
    header.set("x-amz-security-token", signature.security_token);
  header.set(http::field::authorization, signature.authorization);
  return header;
}

net::awaitable<std::unique_ptr<s3_connection>> s3_transport::connect(const std::string& host,
                                                                     clock::time_point until, bool& reused) {
  {
    std::lock_guard lock{mutex_};
    while (!idle_.empty()) {
      auto [idle_host, connection] = std::move(idle_.back());
      idle_.pop_back();
      if (idle_host != host || clock::now() - connection->idle_since > config.max_idle ||
          connection->unusable())
        continue; // closed as it goes
      reused = true;
      connection->expires_at(until);
      co_return std::move(connection);
    }
  }
  reused = false;
  co_return co_await s3_connection::open(endpoint, host, tls ? &*tls : nullptr, until);
}

void s3_transport::keep(const std::string& host, std::unique_ptr<s3_connection> connection) {
  connection->expires_never();
  connection->idle_since = clock::now();
  std::lock_guard lock{mutex_};
  if (idle_.size() >= config.max_idle_connections)
    return;
  idle_.emplace_back(host, std::move(connection));
}

std::size_t s3_transport::idle_count() const {
  std::lock_guard lock{mutex_};
  return idle_.size();
}

void read_s3_answer(const s3_response& answer, s3_result& result) {
  result.status = static_cast<int>(answer.header.result_int());
  result.etag = answer.header[http::field::etag];
  if (result.status / 100 == 2)
    return;
  auto text = parse_s3_error(answer.body);
  result.error_code = text.code;
  if (!text.code.empty())
    result.error = text.message.empty() ? text.code : text.code + ": " + text.message;
  else
    result.error = "status " + std::to_string(result.status) + ' ' +
                   std::string{http::obsolete_reason(answer.header.result())};
}

std::string describe_s3_failure(std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    if (e.code() == beast::error::timeout)
      return "timed out";
    if (e.code() == http::error::body_limit)
      return "the answer is larger than allowed";
    return e.code().message();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown failure";
  }
}

} // namespace chatnode
