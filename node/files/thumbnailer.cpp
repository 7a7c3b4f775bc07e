#include "node/files/thumbnailer.hpp"

#include <vips/vips.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace chatnode {

namespace {

/// The loaders allowed: the classes their file, buffer and source variants derive from.
constexpr std::array<const char*, 4> allowed_loaders{"VipsForeignLoadJpeg", "VipsForeignLoadPng",
                                                     "VipsForeignLoadNsgif", "VipsForeignLoadWebp"};

bool allowed(GType loader) {
  return loader != 0 &&
         std::any_of(allowed_loaders.begin(), allowed_loaders.end(),
                     [loader](const char* base) { return g_type_is_a(loader, g_type_from_name(base)); });
}

/// Owns one reference to a libvips object (an image, a source, a target).
template <typename T>
class vips_ref {
public:
  vips_ref() = default;
  explicit vips_ref(T* object)
    : object_(object) {}
  vips_ref(const vips_ref&) = delete;
  vips_ref& operator=(const vips_ref&) = delete;
  ~vips_ref() {
    if (object_ != nullptr) {
      g_object_unref(object_);
    }
  }

  T* get() const { return object_; }
  /// Where a libvips call writes its output; only while empty.
  T** out() { return &object_; }
  explicit operator bool() const { return object_ != nullptr; }

private:
  T* object_ = nullptr;
};

/// The file as libvips reads it. Sources and targets take their file name as
/// it is, where libvips's file name calls read "name[options]" in it.
vips_ref<VipsSource> open(const std::string& file) {
  return vips_ref<VipsSource>{vips_source_new_from_file(file.c_str())};
}

/// width x height x frames within `max_pixels`, without overflow.
bool within(VipsImage* image, std::int64_t max_pixels) {
  const std::int64_t frame = std::int64_t{vips_image_get_width(image)} * vips_image_get_height(image);
  const std::int64_t frames = std::max(1, vips_image_get_n_pages(image));
  return frame <= max_pixels && frames <= max_pixels / std::max<std::int64_t>(frame, 1);
}

/// Writes `image` without metadata; false on failure.
bool save(VipsImage* image, const std::filesystem::path& file, bool png) {
  vips_ref<VipsTarget> target{vips_target_new_to_file(file.c_str())};
  if (!target) {
    return false;
  }
  if (png) {
    return vips_pngsave_target(image, target.get(), "strip", TRUE, "bitdepth", 8, nullptr) == 0;
  }
  return vips_jpegsave_target(image, target.get(), "strip", TRUE, "Q", 80, "optimize_coding", TRUE,
                              nullptr) == 0;
}

void ignore_log(const gchar*, GLogLevelFlags, const gchar*, gpointer) {}

} // namespace

std::optional<image_facts> make_thumbnail(const std::filesystem::path& source,
                                          const std::filesystem::path& thumb, std::string* thumb_mime,
                                          const thumbnail_limits& limits) {
  const std::string file = source.string();
  // The loader is chosen from the content before anything is parsed: an SVG,
  // a PDF or a TIFF is never handed to its loader, whatever its name.
  auto input = open(file);
  const char* loader = input ? vips_foreign_find_load_source(input.get()) : nullptr;
  if (loader == nullptr || !allowed(g_type_from_name(loader))) {
    vips_error_clear();
    return std::nullopt;
  }
  // Header only: sequential access decodes nothing until pixels are asked for.
  vips_ref<VipsImage> header{
    vips_image_new_from_source(input.get(), "", "access", VIPS_ACCESS_SEQUENTIAL, nullptr)};
  const char* used = nullptr;
  if (!header || vips_image_get_string(header.get(), "vips-loader", &used) != 0 ||
      !allowed(vips_type_find("VipsForeignLoad", used))) {
    vips_error_clear();
    return std::nullopt;
  }

  image_facts facts;
  facts.width = vips_image_get_width(header.get());
  facts.height = vips_image_get_height(header.get());
  if (vips_image_get_orientation_swap(header.get())) {
    std::swap(facts.width, facts.height);
  }
  if (!within(header.get(), limits.max_pixels)) {
    return facts;
  }

  // Shrink-on-load where the format has it, the first frame only, rotated
  // upright as EXIF says (which also drops the orientation tag), never enlarged.
  auto again = open(file);
  vips_ref<VipsImage> small;
  if (!again || vips_thumbnail_source(again.get(), small.out(), limits.max_side, "height", limits.max_side,
                                      "size", VIPS_SIZE_DOWN, nullptr) != 0) {
    vips_error_clear();
    return facts;
  }
  const bool png = vips_image_hasalpha(small.get());
  if (!save(small.get(), thumb, png)) {
    vips_error_clear();
    std::error_code ignored;
    std::filesystem::remove(thumb, ignored);
    return facts;
  }
  facts.thumbnail = true;
  if (thumb_mime != nullptr) {
    *thumb_mime = png ? "image/png" : "image/jpeg";
  }
  return facts;
}

void init_image_library(const char* argv0) {
  static std::once_flag once;
  std::call_once(once, [argv0] {
    if (VIPS_INIT(argv0) != 0) {
      std::string why = vips_error_buffer();
      vips_error_clear();
      throw std::runtime_error("libvips did not start: " + why);
    }
    // Every image is read once: nothing to gain from libvips's operation
    // cache, and memory and open files to lose.
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    // One thread per thumbnail: the image workers are the parallelism.
    vips_concurrency_set(1);
    // Only the four formats' loaders, whatever else libvips was built with
    // (a second guard: make_thumbnail checks the loader itself too).
    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (const char* base : allowed_loaders) {
      vips_operation_block_set(base, FALSE);
    }
    // Damaged uploads are expected; libvips would print a warning for each.
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, ignore_log, nullptr);
  });
}

} // namespace chatnode
