#include "node/fetch/checked_connect.hpp"

#include "node/fetch/address_policy.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace chatnode {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string outbound_failure(std::exception_ptr error, std::string_view timeout) {
  try {
    std::rethrow_exception(error);
  } catch (const outbound_refused& r) {
    return r.why;
  } catch (const boost::system::system_error& e) {
    return e.code() == boost::beast::error::timeout ? std::string{timeout} : e.code().message();
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::optional<request_target> target_of(boost::urls::url_view url) {
  request_target t;
  if (url.scheme_id() == boost::urls::scheme::https)
    t.tls = true;
  else if (url.scheme_id() != boost::urls::scheme::http)
    return std::nullopt;
  if (!url.has_authority() || url.host().empty() || url.has_userinfo())
    return std::nullopt;
  t.host = url.host_address();
  t.host_header = url.encoded_host_and_port();
  t.port = url.has_port() ? std::string{url.port()} : (t.tls ? "443" : "80");
  t.path = url.encoded_target().empty() ? "/" : std::string{url.encoded_target()};
  t.origin = (t.tls ? "https://" : "http://") + std::string{url.encoded_host()};
  if (url.has_port() && t.port != (t.tls ? "443" : "80"))
    t.origin += ":" + t.port;
  return t;
}

net::awaitable<tcp::socket> connect_checked(const request_target& t, const allowed_networks& allowed,
                                            std::chrono::steady_clock::time_point until) {
  auto executor = co_await net::this_coro::executor;
  tcp::resolver resolver{executor};
  auto results = co_await resolver.async_resolve(t.host, t.port, net::use_awaitable);
  std::string why;
  boost::system::error_code failed;
  for (const auto& entry : results) {
    auto reason = refused_address(entry.endpoint().address(), allowed);
    if (!reason.empty()) {
      why = std::string{reason};
      continue;
    }
    boost::beast::tcp_stream stream{executor};
    stream.expires_at(until);
    co_await stream.async_connect(entry.endpoint(), net::redirect_error(net::use_awaitable, failed));
    if (!failed)
      co_return stream.release_socket();
  }
  // An allowed address that did not answer is the network's failure, which
  // may pass; only addresses all refused are the policy's answer.
  if (failed)
    throw boost::system::system_error{failed};
  throw outbound_refused{why.empty() ? "the name has no address" : "refused address: " + why};
}

} // namespace chatnode
