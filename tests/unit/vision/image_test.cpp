// Image files that are not what they claim, and processor configs that cannot be run, are errors
// naming the file and what was wrong; a good file decodes with its size and channels.
#include <gtest/gtest.h>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/vision/image.h"
#include "automodel/vision/image_processor.h"
#include "automodel/vision/resize.h"
#include "test_util.h"

namespace automodel::vision {
namespace {

const auto kImages = testing::fixtures_dir() / "images";
std::string error_of(const std::function<void()>& f) { return testing::error_message_of<Error>(f); }
void expect_error(const std::function<void()>& f, const std::string& part) {
  auto message = error_of(f);
  EXPECT_NE(message.find(part), std::string::npos) << message;
}

TEST(ImageDecode, JpegAndPngDecodeWithTheirSizeAndChannels) {
  auto jpeg = read_image(kImages / "llamafactory_1.jpg");
  EXPECT_EQ(jpeg.channels, 3);
  EXPECT_EQ(jpeg.pixels.size(), static_cast<size_t>(jpeg.width * jpeg.height * 3));
  auto png = read_image(kImages / "coco_two_cats.png");
  EXPECT_EQ(png.width, 640);
  EXPECT_EQ(png.height, 480);
  EXPECT_EQ(png.channels, 3);
}

TEST(ImageDecode, TruncatedCorruptAndUnknownFilesAreErrorsNamingTheFile) {
  const auto jpeg = read_file(kImages / "llamafactory_1.jpg");
  expect_error([&] { decode_image(jpeg.substr(0, jpeg.size() / 2), "half.jpg"); }, "image half.jpg: the JPEG data ends early");
  auto png = read_file(kImages / "coco_two_cats.png");
  expect_error([&] { decode_image(png.substr(0, png.size() / 3), "third.png"); }, "image third.png: not a readable PNG");
  png[png.size() / 2] ^= 0x5a;  // inside the image data: its CRC no longer matches
  expect_error([&] { decode_image(png, "flipped.png"); }, "image flipped.png: not a readable PNG");
  expect_error([&] { decode_image("GIF89a....", "anim.gif"); }, "image anim.gif: not a JPEG or PNG file");
  expect_error([&] { decode_image("", "empty.jpg"); }, "not a JPEG or PNG file (0 bytes)");
}

TEST(ImageConvert, GrayIsReplicatedAndAlphaDropped) {
  Image la{2, 1, 2, {10, 200, 30, 0}};
  auto rgb = to_rgb(la);
  EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{10, 10, 10, 30, 30, 30}));
  Image rgba{1, 1, 4, {1, 2, 3, 4}};
  EXPECT_EQ(to_rgb(rgba).pixels, (std::vector<uint8_t>{1, 2, 3}));
}

TEST(Resize, UnchangedSizeIsACopyAndUnsupportedFiltersAreNamed) {
  auto image = read_image(kImages / "llamafactory_1.jpg");
  EXPECT_EQ(resize_torchvision(image, image.width, image.height, Filter::kBicubic).pixels, image.pixels);
  EXPECT_EQ(resize_pillow(image, image.width, image.height, Filter::kLanczos).pixels, image.pixels);
  expect_error([&] { resize_torchvision(image, 10, 10, Filter::kBox); }, "bilinear, bicubic and lanczos, not box");
  expect_error([&] { resize_pillow(image, 10, 10, Filter::kBox); }, "Pillow's box filter is not supported");
  expect_error([&] { resize_pillow(image, 0, 10, Filter::kBicubic); }, "must be positive");
}

TEST(ImageProcessorConfig, FieldsAndClassDefaultsAreReadAndBadValuesNamed) {
  auto c = parse_image_processor_config(R"({"image_processor_type": "CLIPImageProcessor", "size": 336})", "p.json");
  EXPECT_EQ(c.shortest_edge, 336);
  EXPECT_TRUE(c.do_center_crop);
  EXPECT_EQ(c.crop_height, 224);
  EXPECT_EQ(c.backend, Backend::kTorchvision);
  auto s = parse_image_processor_config(R"({"image_processor_type": "SiglipImageProcessor", "size": 384})", "p.json");
  EXPECT_FALSE(s.shortest_edge);
  EXPECT_EQ(s.height, 384);
  EXPECT_EQ(s.image_mean, std::vector<double>(3, 0.5));
  EXPECT_EQ(parse_image_processor_config(R"({"image_processor_type": "CLIPImageProcessorPil"})", "p.json").backend,
            Backend::kPil);
  auto g = parse_image_processor_config(R"({"image_processor_type": "Gemma3ImageProcessor", "do_pan_and_scan": null})", "g.json");
  EXPECT_EQ(g.resample, Filter::kBilinear);
  expect_error([] { parse_image_processor_config(R"({"image_processor_type": "Gemma3ImageProcessor", "do_pan_and_scan": true})", "g.json"); },
               "g.json: do_pan_and_scan: Gemma 3's pan-and-scan crops are not supported");
  expect_error([] { parse_image_processor_config(R"({"image_processor_type": "Idefics2ImageProcessor"})", "q.json"); },
               "q.json: image_processor_type 'Idefics2ImageProcessor' is not supported");
  expect_error([] { parse_image_processor_config(R"({"image_processor_type": "CLIPImageProcessor", "resample": 9})", "p.json"); },
               "p.json: resample: expected a PIL resampling filter 0-5");
  expect_error([] { parse_image_processor_config(R"({"image_processor_type": "CLIPImageProcessor", "size": {"w": 3}})", "p.json"); },
               "p.json: size: expected an integer");
  expect_error([] { parse_image_processor_config(R"({"image_processor_type": "CLIPImageProcessor", "image_std": [1, 0, 1]})", "p.json"); },
               "p.json: image_std: a standard deviation of 0");
  expect_error([] { parse_image_processor_config(R"({"image_processor_type": "CLIPImageProcessor", "image_mean": [1, 2]})", "p.json"); },
               "p.json: image_mean: expected 3 numbers");
}

// Idefics3/SmolVLM: longest edges from {"longest_edge": n}, the class's defaults (Idefics3-8B's)
// where absent, LANCZOS, splitting on unless turned off.
TEST(ImageProcessorConfig, Idefics3SizesSplittingAndDefaultsAreRead) {
  auto d = parse_image_processor_config(R"({"image_processor_type": "Idefics3ImageProcessor"})", "i.json");
  EXPECT_EQ(d.longest_edge, 4 * 364);
  EXPECT_EQ(d.tile_size, 364);
  EXPECT_TRUE(d.do_image_splitting);
  EXPECT_EQ(d.resample, Filter::kLanczos);
  EXPECT_EQ(d.image_mean, std::vector<double>(3, 0.5));
  auto s = parse_image_processor_config(
      R"({"image_processor_type": "SmolVLMImageProcessor", "size": {"longest_edge": 2048},
          "max_image_size": {"longest_edge": 512}, "do_image_splitting": false})", "s.json");
  EXPECT_EQ(s.longest_edge, 2048);
  EXPECT_EQ(s.tile_size, 512);
  EXPECT_FALSE(s.do_image_splitting);
  EXPECT_NE(fingerprint(s), fingerprint(d));
  expect_error([] { parse_image_processor_config(R"({"image_processor_type": "Idefics3ImageProcessor", "size": 364})", "i.json"); },
               "i.json: size: expected {\"longest_edge\": n}, found 364");
  expect_error([] {
    parse_image_processor_config(R"({"image_processor_type": "Idefics3ImageProcessor", "max_image_size": {"longest_edge": 0}})", "i.json");
  }, "i.json: max_image_size: longest_edge: expected a positive integer, found 0");
}

// Tiles of a wide image: the longest edge to 64 (the short one even), then up to multiples of 32:
// 2 x 1 tiles row by row, then the whole image, each 32 x 32; a small one is one whole frame.
TEST(ImageProcessor, Idefics3SplitsIntoTilesThenTheWholeImage) {
  auto c = parse_image_processor_config(
      R"({"image_processor_type": "Idefics3ImageProcessor", "size": {"longest_edge": 64},
          "max_image_size": {"longest_edge": 32}, "resample": 2})", "i.json");
  Image wide{90, 30, 3, {}};
  for (int64_t i = 0; i < 90 * 30 * 3; ++i) wide.pixels.push_back(static_cast<uint8_t>(i % 3 == 0 ? (i / 3) % 90 * 2 : 7));
  auto p = preprocess(c, wide);
  EXPECT_EQ(p.tiles, (std::vector<int64_t>{1, 2}));  // 64 x 22 -> 64 x 32: one row of two tiles
  EXPECT_EQ(p.shape, (std::vector<int64_t>{3, 3, 32, 32}));
  ASSERT_EQ(p.values.size(), 3u * 3 * 32 * 32);
  // Red rises from left to right: the first tile's left column is darker than the second's.
  EXPECT_LT(p.values[0], p.values[3 * 32 * 32]);
  c.do_image_splitting = false;
  auto whole = preprocess(c, wide);
  EXPECT_EQ(whole.tiles, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(whole.shape, (std::vector<int64_t>{1, 3, 32, 32}));
}

// Qwen2-VL: sizes rounded to multiples of patch x merge, then scaled into the pixel budget; the
// budget comes from size, min_pixels/max_pixels win.
TEST(SmartResize, RoundsToTheFactorAndKeepsThePixelBudget) {
  EXPECT_EQ(smart_resize(480, 640, 28, 3136, 12845056), (std::pair<int64_t, int64_t>{476, 644}));
  EXPECT_EQ(smart_resize(480, 640, 28, 100352, 200704), (std::pair<int64_t, int64_t>{364, 504}));
  EXPECT_EQ(smart_resize(20, 30, 28, 3136, 12845056), (std::pair<int64_t, int64_t>{56, 84}));
  expect_error([] { smart_resize(10, 2500, 28, 3136, 12845056); }, "aspect ratio must be at most 200");
  auto c = parse_image_processor_config(
      R"({"image_processor_type": "Qwen2VLImageProcessor", "size": {"shortest_edge": 10, "longest_edge": 20},
          "max_pixels": 30, "patch_size": 16})", "q.json");
  EXPECT_EQ(c.min_pixels, 10);
  EXPECT_EQ(c.max_pixels, 30);
  EXPECT_EQ(c.patch_size, 16);
  EXPECT_EQ(c.merge_size, 2);
  expect_error([] { parse_image_processor_config(R"({"image_processor_type": "Qwen2VLImageProcessor", "merge_size": 0})", "q.json"); },
               "q.json: merge_size: expected a positive integer");
}

}  // namespace
}  // namespace automodel::vision
