#include "node/process/preview_fetcher.hpp"

#include "actors/contracts/upload_ticket.hpp"
#include "node/fetch/page_metadata.hpp"
#include "node/files/file_store.hpp"
#include "node/files/image_workers.hpp"
#include "node/files/small_files.hpp"
#include "node/files/thumbnailer.hpp"

#include <boost/asio/post.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <chrono>
#include <fstream>
#include <iterator>

namespace chatnode {

namespace fs = std::filesystem;

preview_fetcher::preview_fetcher(boost::asio::io_context& io, fetch_limits limits, preview_images images)
  : io_(io),
    tls_(make_client_tls()),
    limits_(std::move(limits)),
    images_(std::move(images)) {}

void preview_fetcher::fetch(const std::string& url, std::function<void(std::optional<link_preview>)> done) {
  auto self = shared_from_this();
  fetch_page(io_, tls_, url, limits_, [self, url, done = std::move(done)](fetch_result page) mutable {
    std::string image_url;
    auto preview = preview_of_page(page, &image_url);
    if (!preview) {
      done(std::nullopt);
      return;
    }
    preview->url = url; // as the message has it, wherever it redirected
    if (image_url.empty() || !self->images_.store) {
      done(std::move(preview));
      return;
    }
    self->add_image(std::move(*preview), image_url, std::move(done));
  });
}

void preview_fetcher::add_image(link_preview preview, const std::string& image_url,
                                std::function<void(std::optional<link_preview>)> done) {
  auto self = shared_from_this();
  fetch_url(io_, tls_, image_url, limits_, fetch_kind::image,
            [self, preview = std::move(preview), done = std::move(done)](fetch_result image) mutable {
              if (!image.error.empty()) {
                done(std::move(preview)); // the preview goes without its image
                return;
              }
              auto shared_done = std::make_shared<std::function<void(std::optional<link_preview>)>>(done);
              bool queued = self->images_.workers->post(
                [self, preview, body = std::move(image.body), shared_done]() mutable {
                  self->keep_thumbnail(std::move(preview), std::move(body), std::move(*shared_done));
                });
              if (!queued) // the workers are busy with uploads: no image this time
                done(std::move(preview));
            });
}

namespace {

/// A work file removed when it goes out of scope.
struct scratch_file {
  fs::path path;
  ~scratch_file() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

std::optional<std::string> read_whole(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::nullopt;
  return std::string{std::istreambuf_iterator<char>{in}, {}};
}

} // namespace

void preview_fetcher::keep_thumbnail(link_preview preview, std::string image,
                                     std::function<void(std::optional<link_preview>)> done) {
  auto id = new_file_id();
  std::error_code ec;
  fs::create_directories(images_.scratch, ec);
  scratch_file source{images_.scratch / ("preview-" + id)};
  scratch_file thumb{images_.scratch / ("preview-" + id + ".thumb")};
  {
    std::ofstream out{source.path, std::ios::binary};
    out.write(image.data(), static_cast<std::streamsize>(image.size()));
    if (!out) {
      done(std::move(preview));
      return;
    }
  }
  std::string mime;
  auto facts = make_thumbnail(source.path, thumb.path, &mime);
  auto bytes = facts && facts->thumbnail ? read_whole(thumb.path) : std::nullopt;
  if (!bytes) {
    done(std::move(preview));
    return;
  }
  stored_file description;
  description.id = id;
  description.name = mime == "image/png" ? "preview.png" : "preview.jpg";
  description.mime = mime;
  description.created =
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
  store_small_file(
    *images_.store, description, std::make_shared<const std::string>(std::move(*bytes)),
    [preview = std::move(preview), id, mime, done = std::move(done)](store_error error) mutable {
      if (error.empty())
        preview.image = preview_image_path(id, mime);
      done(std::move(preview));
    });
}

void preview_fetcher::own_image(const link_preview& preview, std::function<void(link_preview)> done) {
  auto from = file_of_preview_image(preview.image);
  if (from.empty() || !images_.store) {
    auto bare = preview;
    bare.image.clear();
    done(std::move(bare));
    return;
  }
  auto self = shared_from_this();
  auto shared_done = std::make_shared<std::function<void(link_preview)>>(std::move(done));
  bool queued = images_.workers->post([self, preview, from, shared_done] {
    auto to = new_file_id();
    copy_small_file(*self->images_.store, from, to, [preview, to, shared_done](store_error error) mutable {
      auto owned = preview;
      auto mime = owned.image.ends_with(".png") ? "image/png" : "image/jpeg";
      owned.image = error.empty() ? preview_image_path(to, mime) : std::string{};
      (*shared_done)(std::move(owned));
    });
  });
  if (!queued) {
    auto bare = preview;
    bare.image.clear();
    (*shared_done)(std::move(bare));
  }
}

void preview_fetcher::settle_image(const link_preview& preview, bool kept) {
  auto id = file_of_preview_image(preview.image);
  if (id.empty() || !images_.store)
    return;
  auto self = shared_from_this();
  auto settle = [self, id, kept] {
    if (kept)
      self->images_.store->mark_sent(id);
    else
      self->images_.store->remove(id);
  };
  if (!images_.workers->post(settle))
    boost::asio::post(io_, settle); // one small write: rather there than lost
}

std::optional<link_preview> preview_of_page(const fetch_result& page, std::string* image_url) {
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
  auto base = boost::urls::parse_uri(page.url);
  if (preview.site.empty() && base) // the host the page came from
    preview.site = std::string{base->host()};
  if (image_url && base && !meta.image.empty())
    if (auto ref = boost::urls::parse_uri_reference(meta.image); ref) {
      boost::urls::url resolved;
      if (boost::urls::resolve(*base, *ref, resolved) && (resolved.scheme_id() == boost::urls::scheme::http ||
                                                          resolved.scheme_id() == boost::urls::scheme::https))
        *image_url = resolved.buffer();
    }
  return preview;
}

} // namespace chatnode
