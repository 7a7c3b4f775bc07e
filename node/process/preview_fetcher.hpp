#pragma once
// (1.2) The node's link_fetcher: a link's page fetched under the fetcher's
// rules (node/fetch/page_fetch.hpp: checked addresses, 1 MiB, 5 s, 3
// redirects, text/html only) on an I/O thread, and what its head says of it
// read there (node/fetch/page_metadata.hpp): a preview when it has a title
// or a description.
//
// With a file store, the page's image is fetched under the same rules (a
// PNG, JPEG, GIF or WebP, whole within 1 MiB), made into a thumbnail of at
// most 320 pixels (no metadata) on the image workers, and kept in the
// store; the preview names that file, never the remote URL. Each message
// whose preview shows it gets a copy of its own, removed with the message,
// so that the shared cache's preview never points at a file a deleted
// message took along. The cache's file is never marked sent: the store's
// sweep of unsent files takes it a day later.

#include "actors/contracts/link_fetcher.hpp"
#include "node/fetch/page_fetch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <memory>

namespace chatnode {

class file_store;
class image_workers;

/// Where previews keep their images: the file store, the workers that make
/// thumbnails and touch the store, and a directory for the work files.
struct preview_images {
  file_store* store = nullptr;
  image_workers* workers = nullptr;
  std::filesystem::path scratch;
};

class preview_fetcher : public link_fetcher, public std::enable_shared_from_this<preview_fetcher> {
public:
  /// Without `images.store`, previews carry no image.
  preview_fetcher(boost::asio::io_context& io, fetch_limits limits, preview_images images = {});

  void fetch(const std::string& url, std::function<void(std::optional<link_preview>)> done) override;
  void own_image(const link_preview& preview, std::function<void(link_preview)> done) override;
  void settle_image(const link_preview& preview, bool kept) override;

private:
  /// The page's image at `image_url` made into the preview's image, or
  /// the preview without one.
  void add_image(link_preview preview, const std::string& image_url,
                 std::function<void(std::optional<link_preview>)> done);
  /// On the image workers: the image's bytes made into a thumbnail and stored.
  void keep_thumbnail(link_preview preview, std::string image,
                      std::function<void(std::optional<link_preview>)> done);

  boost::asio::io_context& io_;
  boost::asio::ssl::context tls_;
  fetch_limits limits_;
  preview_images images_;
};

/// What a fetched page shows as a preview; none without a title or a
/// description. `image_url`, when given, gets the page's image resolved
/// against the page's URL (empty: none, or not an http(s) URL).
std::optional<link_preview> preview_of_page(const fetch_result& page, std::string* image_url = nullptr);

} // namespace chatnode
