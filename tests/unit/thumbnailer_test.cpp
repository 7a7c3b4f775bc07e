#include "node/files/image_workers.hpp"
#include "node/files/thumbnailer.hpp"

#include <boost/test/unit_test.hpp>
#include <vips/vips.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace chatnode;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// One reference to a VipsImage, released on destruction.
class vimage {
public:
  vimage() = default;
  explicit vimage(VipsImage* image)
    : image_(image) {}
  vimage(const vimage&) = delete;
  vimage& operator=(const vimage&) = delete;
  vimage(vimage&& other) noexcept
    : image_(std::exchange(other.image_, nullptr)) {}
  ~vimage() {
    if (image_ != nullptr) {
      g_object_unref(image_);
    }
  }
  VipsImage* get() const { return image_; }
  VipsImage** out() { return &image_; }

private:
  VipsImage* image_ = nullptr;
};

void check(int result) {
  if (result != 0) {
    std::string why = vips_error_buffer();
    vips_error_clear();
    throw std::runtime_error("libvips: " + why);
  }
}

/// A black image with a white square of `square` pixels in its top left corner.
vimage marked(int width, int height, int bands, int square) {
  vimage black, white, placed, result;
  check(vips_black(black.out(), square, square, "bands", bands, nullptr));
  check(vips_invert(black.get(), white.out(), nullptr));
  check(vips_embed(white.get(), placed.out(), 0, 0, width, height, "extend", VIPS_EXTEND_BLACK, nullptr));
  check(vips_cast_uchar(placed.get(), result.out(), nullptr));
  return result;
}

vimage load(const fs::path& file) {
  VipsSource* source = vips_source_new_from_file(file.c_str());
  check(source == nullptr ? -1 : 0);
  vimage image{vips_image_new_from_source(source, "", nullptr)};
  g_object_unref(source);
  check(image.get() == nullptr ? -1 : 0);
  return image;
}

std::vector<std::string> fields(const vimage& image) {
  std::vector<std::string> names;
  gchar** all = vips_image_get_fields(image.get());
  for (gchar** name = all; *name != nullptr; ++name) {
    names.emplace_back(*name);
  }
  g_strfreev(all);
  return names;
}

/// The metadata a thumbnail must not carry.
bool private_field(const std::string& name) {
  for (const char* prefix : {"exif-", "xmp-", "icc-", "iptc-", "gps", "orientation", "jpeg-comment",
                             "png-comment", "gif-comment"}) {
    if (name.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

double pixel(const vimage& image, int x, int y) {
  double* values = nullptr;
  int n = 0;
  check(vips_getpoint(image.get(), &values, &n, x, y, nullptr));
  const double first = values[0];
  g_free(values);
  return first;
}

/// libvips objects alive, so a leak shows as a difference.
int live_objects() {
  int count = 0;
  vips_object_map(
    [](void*, void* a, void*) -> void* {
      ++*static_cast<int*>(a);
      return nullptr;
    },
    &count, nullptr);
  return count;
}

struct thumbnail_fixture {
  fs::path dir = fs::temp_directory_path() / ("chatnode-thumb-" + std::to_string(::getpid()));
  fs::path thumb = dir / "thumb";
  std::string mime;

  thumbnail_fixture() {
    init_image_library(boost::unit_test::framework::master_test_suite().argv[0]);
    fs::create_directories(dir);
  }
  ~thumbnail_fixture() { fs::remove_all(dir); }

  /// A 4000x3000 photo, stored sideways (EXIF orientation 6), with a GPS position and XMP.
  fs::path sideways_photo() {
    auto file = dir / "photo.jpg";
    auto image = marked(4000, 3000, 3, 1000);
    vips_image_set_int(image.get(), VIPS_META_ORIENTATION, 6);
    vips_image_set_string(image.get(), "exif-ifd0-Make", "Camera");
    vips_image_set_string(image.get(), "exif-ifd3-GPSLatitudeRef", "N");
    vips_image_set_string(image.get(), "exif-ifd3-GPSLatitude", "52/1 31/1 12/1");
    static const char xmp[] = "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>";
    vips_image_set_blob_copy(image.get(), VIPS_META_XMP_NAME, xmp, sizeof xmp - 1);
    check(vips_jpegsave(image.get(), file.c_str(), nullptr));
    return file;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(thumbnailer, thumbnail_fixture)

BOOST_AUTO_TEST_CASE(photo_is_turned_upright_shrunk_and_stripped) {
  auto photo = sideways_photo();
  {
    // What the source carries, so that its absence below means something.
    auto source = load(photo);
    BOOST_TEST(vips_image_get_orientation(source.get()) == 6);
    const char* latitude = nullptr;
    BOOST_TEST(vips_image_get_string(source.get(), "exif-ifd3-GPSLatitude", &latitude) == 0);
    BOOST_TEST(std::string(latitude).starts_with("52/1 31/1 12/1"));
    BOOST_TEST(vips_image_get_typeof(source.get(), VIPS_META_EXIF_NAME) != 0);
    BOOST_TEST(vips_image_get_typeof(source.get(), VIPS_META_XMP_NAME) != 0);
  }

  auto facts = make_thumbnail(photo, thumb, &mime);
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->width == 3000);
  BOOST_TEST(facts->height == 4000);
  BOOST_TEST(facts->thumbnail);
  BOOST_TEST(mime == "image/jpeg");

  auto small = load(thumb);
  const char* loader = nullptr;
  check(vips_image_get_string(small.get(), "vips-loader", &loader));
  BOOST_TEST(std::string(loader).starts_with("jpegload"));
  BOOST_TEST(vips_image_get_width(small.get()) == 240);
  BOOST_TEST(vips_image_get_height(small.get()) == 320);
  for (const auto& name : fields(small)) {
    BOOST_TEST(!private_field(name), name << " left in the thumbnail");
  }
  // Orientation 6 turns the stored image a quarter clockwise: its white top
  // left corner is the top right one as displayed.
  BOOST_TEST(pixel(small, 230, 10) > 200);
  BOOST_TEST(pixel(small, 10, 10) < 50);
  BOOST_TEST(pixel(small, 10, 310) < 50);
}

BOOST_AUTO_TEST_CASE(alpha_gives_a_png_with_alpha) {
  auto file = dir / "logo.png";
  check(vips_pngsave(marked(640, 480, 4, 100).get(), file.c_str(), nullptr));

  auto facts = make_thumbnail(file, thumb, &mime);
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->width == 640);
  BOOST_TEST(facts->height == 480);
  BOOST_TEST(facts->thumbnail);
  BOOST_TEST(mime == "image/png");
  auto small = load(thumb);
  const char* loader = nullptr;
  check(vips_image_get_string(small.get(), "vips-loader", &loader));
  BOOST_TEST(std::string(loader).starts_with("pngload"));
  BOOST_TEST(vips_image_hasalpha(small.get()));
  BOOST_TEST(vips_image_get_width(small.get()) == 320);
  BOOST_TEST(vips_image_get_height(small.get()) == 240);
}

BOOST_AUTO_TEST_CASE(small_images_are_not_enlarged) {
  auto file = dir / "dot.jpg";
  check(vips_jpegsave(marked(1, 1, 3, 1).get(), file.c_str(), nullptr));

  auto facts = make_thumbnail(file, thumb, &mime);
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->width == 1);
  BOOST_TEST(facts->height == 1);
  BOOST_TEST(facts->thumbnail);
  BOOST_TEST(mime == "image/jpeg");
  auto small = load(thumb);
  BOOST_TEST(vips_image_get_width(small.get()) == 1);
  BOOST_TEST(vips_image_get_height(small.get()) == 1);
}

BOOST_AUTO_TEST_CASE(webp_is_read) {
  auto file = dir / "picture.webp";
  check(vips_webpsave(marked(800, 400, 3, 100).get(), file.c_str(), nullptr));

  auto facts = make_thumbnail(file, thumb, &mime);
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->width == 800);
  BOOST_TEST(facts->thumbnail);
  BOOST_TEST(vips_image_get_width(load(thumb).get()) == 320);
  BOOST_TEST(vips_image_get_height(load(thumb).get()) == 160);
}

BOOST_AUTO_TEST_CASE(paths_are_taken_literally) {
  // libvips reads "name[options]" in the file names its convenience calls take.
  auto file = dir / "photo[1]";
  check(vips_pngsave(marked(640, 480, 3, 100).get(), file.c_str(), nullptr));
  auto out = dir / "thumb[Q=1]";

  auto facts = make_thumbnail(file, out, &mime);
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->thumbnail);
  BOOST_TEST(fs::exists(out));
  BOOST_TEST(vips_image_get_width(load(out).get()) == 320);
}

BOOST_AUTO_TEST_CASE(over_max_pixels_gives_facts_and_no_thumbnail) {
  auto file = dir / "wide.png";
  check(vips_pngsave(marked(200, 100, 3, 10).get(), file.c_str(), nullptr));

  mime = "unchanged";
  auto facts = make_thumbnail(file, thumb, &mime, {.max_side = 320, .max_pixels = 19'999});
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->width == 200);
  BOOST_TEST(facts->height == 100);
  BOOST_TEST(!facts->thumbnail);
  BOOST_TEST(!fs::exists(thumb));
  BOOST_TEST(mime == "unchanged");

  facts = make_thumbnail(file, thumb, &mime, {.max_side = 320, .max_pixels = 20'000});
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->thumbnail);
}

BOOST_AUTO_TEST_CASE(every_gif_frame_counts_and_the_first_is_shown) {
  // Three 100x100 frames: 30,000 pixels in all.
  auto file = dir / "moving.gif";
  auto frames = marked(100, 300, 3, 100);
  vips_image_set_int(frames.get(), VIPS_META_PAGE_HEIGHT, 100);
  check(vips_gifsave(frames.get(), file.c_str(), nullptr));

  auto facts = make_thumbnail(file, thumb, &mime, {.max_side = 320, .max_pixels = 29'999});
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->width == 100);
  BOOST_TEST(facts->height == 100);
  BOOST_TEST(!facts->thumbnail);
  BOOST_TEST(!fs::exists(thumb));

  facts = make_thumbnail(file, thumb, &mime, {.max_side = 320, .max_pixels = 30'000});
  BOOST_REQUIRE(facts);
  BOOST_TEST(facts->thumbnail);
  auto small = load(thumb);
  BOOST_TEST(vips_image_get_width(small.get()) == 100);
  BOOST_TEST(vips_image_get_height(small.get()) == 100);
  BOOST_TEST(pixel(small, 50, 50) > 200); // the first frame: the white one
}

BOOST_AUTO_TEST_CASE(text_named_like_an_image_is_not_one) {
  auto file = dir / "notes.jpg";
  std::ofstream(file) << "just some text, not a JPEG\n";
  BOOST_TEST(!make_thumbnail(file, thumb, &mime));
  BOOST_TEST(!make_thumbnail(dir / "missing.jpg", thumb, &mime));
  std::ofstream(dir / "empty.png");
  BOOST_TEST(!make_thumbnail(dir / "empty.png", thumb, &mime));
  BOOST_TEST(!fs::exists(thumb));
}

BOOST_AUTO_TEST_CASE(other_formats_libvips_reads_are_refused) {
  auto svg = dir / "drawing.png";
  std::ofstream(svg) << R"(<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">)"
                     << R"(<rect width="100" height="100" fill="red"/></svg>)";
  BOOST_TEST(!make_thumbnail(svg, thumb, &mime));

  auto tiff = dir / "scan.jpg";
  check(vips_tiffsave(marked(100, 100, 3, 10).get(), tiff.c_str(), nullptr));
  BOOST_TEST(!make_thumbnail(tiff, thumb, &mime));
  BOOST_TEST(!fs::exists(thumb));
}

BOOST_AUTO_TEST_CASE(truncated_jpeg_does_no_harm) {
  auto whole = dir / "whole.jpg";
  vimage noise, bytes;
  check(vips_gaussnoise(noise.out(), 800, 600, "mean", 128.0, "sigma", 40.0, nullptr));
  check(vips_cast_uchar(noise.get(), bytes.out(), nullptr));
  check(vips_jpegsave(bytes.get(), whole.c_str(), nullptr));
  const auto size = fs::file_size(whole);

  for (auto keep : {size / 2, std::uintmax_t{600}, std::uintmax_t{100}, std::uintmax_t{3}}) {
    auto cut = dir / ("cut-" + std::to_string(keep) + ".jpg");
    fs::copy_file(whole, cut);
    fs::resize_file(cut, keep);
    fs::remove(thumb);
    auto facts = make_thumbnail(cut, thumb, &mime);
    if (facts) {
      BOOST_TEST(facts->width == 800, "kept " << keep);
      BOOST_TEST(facts->height == 600, "kept " << keep);
      BOOST_TEST(fs::exists(thumb) == facts->thumbnail, "kept " << keep);
    } else {
      BOOST_TEST(!fs::exists(thumb), "kept " << keep);
    }
  }
}

BOOST_AUTO_TEST_CASE(threads_at_once_and_nothing_leaks) {
  auto photo = sideways_photo();
  auto cut = dir / "cut.jpg";
  fs::copy_file(photo, cut);
  fs::resize_file(cut, fs::file_size(photo) / 2);
  auto text = dir / "text.jpg";
  std::ofstream(text) << "text";
  BOOST_TEST(make_thumbnail(photo, thumb, &mime).has_value()); // libvips's one-off set-up, before counting

  const int objects = live_objects();
  const int files = vips_tracked_get_files();
  std::atomic<int> made{0};
  {
    image_workers workers(3, 64);
    for (int i = 0; i < 12; ++i) {
      BOOST_TEST(workers.post([&, i] {
        auto out = dir / ("thumb-" + std::to_string(i));
        std::string type;
        if (make_thumbnail(photo, out, &type).value_or(image_facts{}).thumbnail && type == "image/jpeg") {
          ++made;
        }
        make_thumbnail(cut, out, &type);
        make_thumbnail(text, out, &type);
      }));
    }
    while (workers.waiting() > 0) {
      std::this_thread::sleep_for(1ms);
    }
  }
  // The workers' destructor waited for the jobs that had started; none was left waiting.
  BOOST_TEST(made.load() == 12);
  BOOST_TEST(live_objects() == objects);
  BOOST_TEST(vips_tracked_get_files() == files);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(image_workers_suite)

BOOST_AUTO_TEST_CASE(jobs_run_on_the_workers_threads) {
  std::atomic<int> ran{0};
  std::atomic<bool> on_caller{false};
  const auto caller = std::this_thread::get_id();
  std::promise<void> all_done;
  {
    image_workers workers(2, 16);
    for (int i = 0; i < 10; ++i) {
      BOOST_TEST(workers.post([&] {
        on_caller = on_caller || std::this_thread::get_id() == caller;
        if (++ran == 10) {
          all_done.set_value();
        }
      }));
    }
    BOOST_TEST((all_done.get_future().wait_for(10s) == std::future_status::ready));
  }
  BOOST_TEST(ran.load() == 10);
  BOOST_TEST(!on_caller.load());
}

BOOST_AUTO_TEST_CASE(a_full_queue_refuses) {
  std::promise<void> started, gate;
  auto opened = gate.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> last;
  {
    image_workers workers(1, 2);
    BOOST_TEST(workers.post([&] {
      started.set_value();
      opened.wait();
      ++ran;
    }));
    started.get_future().wait();
    BOOST_TEST(workers.post([&] { ++ran; }));
    BOOST_TEST(workers.post([&] {
      ++ran;
      last.set_value();
    }));
    BOOST_TEST(workers.waiting() == 2u);
    BOOST_TEST(!workers.post([&] { ++ran; }));
    gate.set_value();
    BOOST_TEST((last.get_future().wait_for(10s) == std::future_status::ready));
    BOOST_TEST(workers.post([&] { ++ran; })); // room again
  }
  BOOST_TEST(ran.load() >= 3);
}

BOOST_AUTO_TEST_CASE(destruction_joins_the_running_job_and_drops_the_waiting_ones) {
  std::promise<void> started;
  std::atomic<bool> finished{false};
  std::atomic<bool> waiting_ran{false};
  auto held = std::make_shared<int>(0);
  {
    image_workers workers(1, 4);
    workers.post([&] {
      started.set_value();
      std::this_thread::sleep_for(100ms);
      finished = true;
    });
    started.get_future().wait();
    workers.post([&waiting_ran, held] { waiting_ran = true; });
    BOOST_TEST(held.use_count() == 2);
  }
  BOOST_TEST(finished.load());
  BOOST_TEST(!waiting_ran.load());
  BOOST_TEST(held.use_count() == 1); // the dropped job released what it held
}

BOOST_AUTO_TEST_CASE(a_throwing_job_leaves_its_worker_running) {
  std::promise<void> after;
  image_workers workers;
  BOOST_TEST(workers.post([] { throw std::runtime_error("bad image"); }));
  BOOST_TEST(workers.post([&] { after.set_value(); }));
  BOOST_TEST((after.get_future().wait_for(10s) == std::future_status::ready));
}

BOOST_AUTO_TEST_SUITE_END()
