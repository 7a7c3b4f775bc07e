#pragma once
// Thumbnails of uploaded images (PROTOCOL.md, "Files and images"), with
// libvips. Only JPEG, PNG, GIF and WebP are read, by libvips's own loaders:
// the header first, so that an image too big to decode safely is refused
// before a pixel is read, then a shrink-on-load thumbnail. The thumbnail
// carries no metadata (no EXIF, GPS, XMP, ICC profile or comment): EXIF
// orientation is applied to the pixels instead.
//
// A thumbnail takes tens of milliseconds of CPU: call make_thumbnail on the
// image workers (image_workers.hpp), never on an I/O or actor thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace chatnode {

/// What the header says of an image.
struct image_facts {
  int width = 0;          ///< as displayed: EXIF orientation applied
  int height = 0;         ///< as displayed: EXIF orientation applied
  bool thumbnail = false; ///< a thumbnail was written
};

struct thumbnail_limits {
  int max_side = 320;                   ///< the thumbnail's longer side, at most (never enlarged)
  std::int64_t max_pixels = 50'000'000; ///< width x height (x frames): larger is not decoded
};

/// Reads an image's header and, when it is small enough to decode safely, writes a thumbnail
/// (JPEG, or PNG when the source has an alpha channel, at most max_side on its longer side,
/// EXIF orientation applied, no metadata: no EXIF/GPS/XMP/ICC comments) to `thumb`.
/// nullopt: not an image libvips can read (or not PNG/JPEG/GIF/WebP). Over max_pixels:
/// facts with thumbnail=false and nothing written. A damaged image gives a thumbnail of what
/// decodes, as a browser would show it; one whose pixels do not decode at all gives facts with
/// thumbnail=false and nothing left at `thumb`. GIF frames all count towards max_pixels; the
/// thumbnail shows the first. libvips reads every GIF with an alpha channel: its thumbnail is a PNG.
/// `thumb_mime` (may be null) is set to "image/jpeg" or "image/png" when a thumbnail is written.
/// Safe to call from several threads at once.
std::optional<image_facts> make_thumbnail(const std::filesystem::path& source,
                                          const std::filesystem::path& thumb, std::string* thumb_mime,
                                          const thumbnail_limits& = {});

/// Once per process, before any other call (VIPS_INIT, cache off, one vips thread per job).
/// Also blocks every libvips loader but JPEG, PNG, GIF and WebP for the whole process, and
/// silences libvips's warnings about damaged input. Later calls do nothing; throws
/// std::runtime_error when libvips cannot start.
void init_image_library(const char* argv0);

} // namespace chatnode
