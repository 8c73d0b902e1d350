// Image decoding + preprocessing throughput (issue 15's images/s): every image of a folder read
// from disk, decoded and run through the image processor of a preprocessor_config.json, repeated,
// on one thread. bench/run_images.sh runs it next to transformers' AutoImageProcessor.
// Usage: image_bench PROCESSOR_DIR IMAGES_DIR [REPEATS]
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "automodel/common/atomic_file.h"
#include "automodel/vision/image.h"
#include "automodel/vision/image_processor.h"
#include "bench_util.h"

using namespace automodel;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: image_bench PROCESSOR_DIR IMAGES_DIR [REPEATS]\n");
    return 2;
  }
  const auto config = vision::read_image_processor_config(argv[1]);
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 5;
  std::vector<fs::path> images;
  for (const auto& e : fs::directory_iterator(argv[2]))
    if (e.path().extension() == ".jpg" || e.path().extension() == ".png") images.push_back(e.path());
  std::sort(images.begin(), images.end());
  double checksum = 0;
  const double seconds = bench::seconds_of([&] {
    for (int r = 0; r < repeats; ++r)
      for (const auto& path : images) checksum += vision::preprocess(config, vision::read_image(path)).values[0];
  });
  const double n = static_cast<double>(images.size() * repeats);
  fmt::print("automodel  {:<10} {:6.1f} images/s ({} images x {}, 1 thread; checksum {:.3f})\n",
             fs::path(argv[1]).filename().string(), n / seconds, images.size(), repeats, checksum);
}
