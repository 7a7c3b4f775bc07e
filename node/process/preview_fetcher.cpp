#include "node/process/preview_fetcher.hpp"

#include "node/fetch/page_metadata.hpp"

#include <boost/url/parse.hpp>

namespace chatnode {

preview_fetcher::preview_fetcher(boost::asio::io_context& io, fetch_limits limits)
  : io_(io),
    tls_(make_client_tls()),
    limits_(std::move(limits)) {}

void preview_fetcher::fetch(const std::string& url, std::function<void(std::optional<link_preview>)> done) {
  fetch_page(io_, tls_, url, limits_, [url, done = std::move(done)](fetch_result page) {
    auto preview = preview_of_page(page);
    if (preview)
      preview->url = url; // as the message has it, wherever it redirected
    done(std::move(preview));
  });
}

std::optional<link_preview> preview_of_page(const fetch_result& page) {
  if (!page.error.empty())
    return std::nullopt;
  auto meta = read_page_metadata(page.body, page.content_type);
  if (meta.empty())
    return std::nullopt;
  link_preview preview;
  preview.url = page.url;
  preview.title = std::move(meta.title);
  preview.description = std::move(meta.description);
  preview.site = std::move(meta.site);
  if (preview.site.empty()) // the host the page came from
    if (auto parsed = boost::urls::parse_uri(page.url); parsed)
      preview.site = std::string{parsed->host()};
  return preview;
}

} // namespace chatnode
