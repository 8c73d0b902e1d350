// Image decoding and image processors against Pillow and transformers 5 (tests/oracles/
// hf_image_processor.py): the RGB pixels PIL decodes (JPEG, PNG in L/RGB/RGBA/P) and the
// pixel_values AutoImageProcessor gives (CLIP, LLaVA-1.5, SigLIP, Gemma 3, Qwen2-VL, Idefics3/SmolVLM configs; the default
// torchvision backend and the PIL one) on real photos and Pillow-made variants.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/vision/image.h"
#include "automodel/vision/image_processor.h"
#include "test_util.h"

namespace automodel::vision {
namespace {

namespace fs = std::filesystem;

// The oracle's outputs, made once per test binary run.
const fs::path& oracle_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / fmt::format("automodel_image_oracle_{}", ::getpid());
    fs::remove_all(d);
    auto r = testing::run_command("'" + testing::python() + "' '" + testing::oracle_script("hf_image_processor.py").string() +
                                  "' '" + (testing::source_dir() / "tests/fixtures/images").string() + "' '" + d.string() +
                                  "' 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("hf_image_processor.py failed:\n" + r.output);
    return d;
  }();
  return dir;
}

template <typename T>
std::vector<T> read_raw(const fs::path& path) {
  const auto bytes = read_file(path);
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

nlohmann::json oracle_index() { return nlohmann::json::parse(read_file(oracle_dir() / "index.json")); }

TEST(ImageOracle, DecodedPixelsEqualPillowsConvertRgb) {
  AUTOMODEL_REQUIRE_ORACLE("PIL transformers torchvision");
  const auto index = oracle_index();
  ASSERT_GE(index["decoded"].size(), 10u);
  for (const auto& [name, shape] : index["decoded"].items()) {
    SCOPED_TRACE(name);
    auto image = to_rgb(read_image(oracle_dir() / "images" / name));
    ASSERT_EQ(image.height, shape[0].get<int64_t>());
    ASSERT_EQ(image.width, shape[1].get<int64_t>());
    const auto expected = read_raw<uint8_t>(oracle_dir() / "decoded" / (name + ".bin"));
    ASSERT_EQ(image.pixels.size(), expected.size());
    size_t differing = 0;
    for (size_t i = 0; i < expected.size(); ++i) differing += image.pixels[i] != expected[i];
    EXPECT_EQ(differing, 0u) << "of " << expected.size() << " values";
  }
}

// Both backends bit-identical. Pillow 13 resamples some two-axis resizes height first (e.g.
// 160x480 -> 112x364) by a rule not in the Resample.c we could read (nor, over 400 random sizes, a
// simple rule of the sizes), while that source goes width first: a PIL case must equal ours in some
// order of each of its resizes, and most in the width-first one.
TEST(ImageOracle, PixelValuesEqualAutoImageProcessors) {
  AUTOMODEL_REQUIRE_ORACLE("PIL transformers torchvision");
  const auto index = oracle_index();
  ASSERT_EQ(index["pixels"].size(), 14u);
  int pil_width_first = 0, pil_cases = 0;
  for (const auto& [proc, entry] : index["pixels"].items()) {
    auto config = read_image_processor_config(oracle_dir() / "processors" / proc);
    const bool pil = config.backend == Backend::kPil;
    EXPECT_EQ(pil, entry["class"].get<std::string>().ends_with("Pil")) << proc;
    for (const auto& [name, message] : entry["errors"].items()) {
      SCOPED_TRACE(proc + " / " + name + " (transformers: " + message.get<std::string>() + ")");
      EXPECT_THROW(preprocess(config, read_image(oracle_dir() / "images" / name)), Error);
    }
    for (const auto& [name, shape] : entry["images"].items()) {
      SCOPED_TRACE(proc + " / " + name);
      const auto image = read_image(oracle_dir() / "images" / name);
      const auto expected = read_raw<float>(oracle_dir() / "pixels" / proc / (name + ".bin"));
      const auto differing = [&](const PixelValues& got) {
        size_t n = 0;
        for (size_t i = 0; i < expected.size(); ++i) n += got.values[i] != expected[i];
        return n;
      };
      auto pixels = preprocess(config, image);
      ASSERT_EQ(pixels.shape, shape.get<std::vector<int64_t>>());
      ASSERT_EQ(pixels.values.size(), expected.size());
      const auto& grids = entry["grids"];
      EXPECT_EQ(pixels.grid_thw, grids.contains(name) ? grids[name].get<std::vector<int64_t>>() : std::vector<int64_t>{});
      const auto& tiles = entry["tiles"];
      EXPECT_EQ(pixels.tiles, tiles.contains(name) ? tiles[name].get<std::vector<int64_t>>() : std::vector<int64_t>{});
      const size_t width_first = differing(pixels);
      if (!pil) {
        EXPECT_EQ(width_first, 0u) << "of " << expected.size() << " values";
        continue;
      }
      ++pil_cases;
      pil_width_first += width_first == 0;
      if (width_first == 0) continue;
      // Some order of each of its resizes (Idefics3 chains three).
      auto other = config;
      bool matched = false;
      for (other.pil_height_first = 1; other.pil_height_first < 8 && !matched; ++other.pil_height_first)
        matched = differing(preprocess(other, image)) == 0;
      EXPECT_TRUE(matched) << "no order: " << width_first << " of " << expected.size() << " values differ width first";
    }
  }
  EXPECT_GE(2 * pil_width_first, pil_cases) << "width first equals Pillow in " << pil_width_first << " of " << pil_cases;
}

}  // namespace
}  // namespace automodel::vision
