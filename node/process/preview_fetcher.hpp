#pragma once
// (1.2) The node's link_fetcher: a link's page fetched under the fetcher's
// rules (node/fetch/page_fetch.hpp: checked addresses, 1 MiB, 5 s, 3
// redirects, text/html only) on an I/O thread, and what its head says of it
// read there (node/fetch/page_metadata.hpp): a preview when it has a title
// or a description.

#include "actors/contracts/link_fetcher.hpp"
#include "node/fetch/page_fetch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

namespace chatnode {

class preview_fetcher : public link_fetcher {
public:
  preview_fetcher(boost::asio::io_context& io, fetch_limits limits);

  void fetch(const std::string& url, std::function<void(std::optional<link_preview>)> done) override;

private:
  boost::asio::io_context& io_;
  boost::asio::ssl::context tls_;
  fetch_limits limits_;
};

/// What a fetched page shows as a preview; none without a title or a description.
std::optional<link_preview> preview_of_page(const fetch_result& page);

} // namespace chatnode
