#pragma once
// (1.2) The node's document_fetcher for the identity provider's JWKS: an
// https GET on an I/O thread under the fetcher's rules
// (node/fetch/page_fetch.hpp), with what suits a URL the operator named:
// private networks reachable (a provider inside the cluster), the always
// refused ones (link-local, the metadata address) still refused; TLS
// verified against the system's CAs; at most 3 redirects, each https; at
// most 128 KiB in 5 seconds; application/json only.

#include "actors/contracts/document_fetcher.hpp"
#include "node/fetch/page_fetch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace chatnode {

class jwks_source : public document_fetcher, public std::enable_shared_from_this<jwks_source> {
public:
  explicit jwks_source(boost::asio::io_context& io);

  void fetch(const std::string& url, std::function<void(std::string body, std::string error)> done) override;

private:
  boost::asio::io_context& io_;
  boost::asio::ssl::context tls_;
  fetch_limits limits_;
};

} // namespace chatnode
