// thumbnail_bench: how long make_thumbnail (node/files/thumbnailer.cpp) takes
// for a 12-megapixel phone photo: a 4000x3000 JPEG of a gradient under noise,
// stored sideways (EXIF orientation 6, so the thumbnail is turned too), at
// quality 90. One thumbnail at a time, on one libvips thread, as the image
// workers make them. The time follows the file's size (its entropy decoding):
// noise of sigma 6 gives 4 MB, a phone's usual, 10 gives 7.6 MB, 24 13.6 MB.
//   thumbnail_bench [runs (30)] [noise sigma (6)] [folder for the files (the temporary folder)]

#include "node/files/thumbnailer.hpp"

#include <vips/vips.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

void check(int result, const char* what) {
  if (result != 0) {
    std::fprintf(stderr, "%s: %s\n", what, vips_error_buffer());
    std::exit(1);
  }
}

/// A 4000x3000 photo-like JPEG: a diagonal colour gradient plus noise.
void make_photo(const fs::path& file, double sigma) {
  VipsImage* ramp = nullptr;
  VipsImage* noise[3] = {};
  VipsImage* bands = nullptr;
  VipsImage* sum = nullptr;
  VipsImage* photo = nullptr;
  check(vips_grey(&ramp, 4000, 3000, nullptr), "grey");
  for (auto*& band : noise) {
    check(vips_gaussnoise(&band, 4000, 3000, "mean", 0.0, "sigma", sigma, nullptr), "gaussnoise");
  }
  check(vips_bandjoin(noise, &bands, 3, nullptr), "bandjoin");
  const double scale[3] = {180.0, 120.0, 60.0};
  const double offset[3] = {40.0, 70.0, 150.0};
  VipsImage* coloured = nullptr;
  check(vips_linear(ramp, &coloured, scale, offset, 3, nullptr), "linear");
  check(vips_add(coloured, bands, &sum, nullptr), "add");
  check(vips_cast_uchar(sum, &photo, nullptr), "cast");
  vips_image_set_int(photo, VIPS_META_ORIENTATION, 6);
  check(vips_jpegsave(photo, file.c_str(), "Q", 90, nullptr), "jpegsave");
  for (VipsImage* image : {ramp, noise[0], noise[1], noise[2], bands, coloured, sum, photo}) {
    g_object_unref(image);
  }
}

double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

} // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 30;
  const double sigma = argc > 2 ? std::atof(argv[2]) : 6.0;
  const fs::path dir = (argc > 3 ? fs::path(argv[3]) : fs::temp_directory_path()) /
                       ("chatnode-thumbnail-bench-" + std::to_string(::getpid()));
  chatnode::init_image_library(argv[0]);
  fs::create_directories(dir);
  const auto photo = dir / "photo.jpg";
  const auto thumb = dir / "thumb";
  make_photo(photo, sigma);

  std::string mime;
  auto facts = chatnode::make_thumbnail(photo, thumb, &mime); // warm-up: libvips's own set-up
  if (!facts || !facts->thumbnail) {
    std::fprintf(stderr, "no thumbnail made\n");
    return 1;
  }
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    chatnode::make_thumbnail(photo, thumb, &mime);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);

  std::printf("source: %dx%d as displayed, %.1f MB JPEG; thumbnail: %s, %ju bytes\n", facts->width,
              facts->height, static_cast<double>(fs::file_size(photo)) / 1e6, mime.c_str(),
              static_cast<std::uintmax_t>(fs::file_size(thumb)));
  std::printf("%d runs: p50 %.1f ms, p99 %.1f ms, min %.1f ms, max %.1f ms, mean %.1f ms\n", runs,
              percentile(ms, 0.50), percentile(ms, 0.99), ms.front(), ms.back(),
              std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size()));
  std::printf("peak resident memory: %ld MB (making the source included)\n", usage.ru_maxrss / 1024);
  fs::remove_all(dir);
  return 0;
}
