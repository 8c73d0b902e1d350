#include "automodel/vision/image_processor.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"

namespace automodel::vision {
namespace {

// Class defaults of the processors transformers 5 ships (image_processing_clip.py, _siglip.py).
struct Family {
  const char* prefix;
  bool do_center_crop;
  std::optional<int64_t> shortest_edge;
  int64_t size, crop;
  std::vector<double> mean, std;
  bool patches = false;  // Qwen2-VL's smart resize and patch rows
  Filter resample = Filter::kBicubic;
  bool tiles = false;  // Idefics3's longest-edge resize and tiles
};
const std::vector<double> kClipMean{0.48145466, 0.4578275, 0.40821073}, kClipStd{0.26862954, 0.26130258, 0.27577711};
const std::vector<Family>& families() {
  static const std::vector<Family> kFamilies = {
      {"CLIPImageProcessor", true, 224, 0, 224, kClipMean, kClipStd},
      {"SiglipImageProcessor", false, std::nullopt, 224, 0, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}},
      {"Qwen2VLImageProcessor", false, std::nullopt, 0, 0, kClipMean, kClipStd, true},
      {"Gemma3ImageProcessor", false, std::nullopt, 224, 0, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, false, Filter::kBilinear},
      {"Idefics3ImageProcessor", false, std::nullopt, 0, 0, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, false, Filter::kLanczos, true},
      {"SmolVLMImageProcessor", false, std::nullopt, 0, 0, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, false, Filter::kLanczos, true},
  };
  return kFamilies;
}

int64_t positive_int(const nlohmann::json& j, const char* key, int64_t fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  AM_CHECK(j[key].is_number_integer() && j[key].get<int64_t>() > 0, "{}: {}: expected a positive integer, found {}",
           where, key, j[key].dump());
  return j[key].get<int64_t>();
}

// Rows of patches in Qwen2-VL's order: merge blocks row by row, within a block its patches row by
// row; each row holds channel, temporal copy, patch row, patch column (the copies identical).
PixelValues patch_rows(const std::vector<float>& chw, int64_t height, int64_t width, const ImageProcessorConfig& c) {
  const int64_t P = c.patch_size, M = c.merge_size, T = c.temporal_patch_size;
  const int64_t gh = height / P, gw = width / P, row_size = 3 * T * P * P;
  PixelValues out{{gh * gw, row_size}, std::vector<float>(static_cast<size_t>(gh * gw * row_size)), {1, gh, gw}};
  int64_t row = 0;
  for (int64_t bh = 0; bh < gh / M; ++bh)
    for (int64_t bw = 0; bw < gw / M; ++bw)
      for (int64_t mh = 0; mh < M; ++mh)
        for (int64_t mw = 0; mw < M; ++mw, ++row) {
          float* dst = &out.values[static_cast<size_t>(row * row_size)];
          const int64_t y0 = (bh * M + mh) * P, x0 = (bw * M + mw) * P;
          for (int64_t ch = 0; ch < 3; ++ch)
            for (int64_t t = 0; t < T; ++t)
              for (int64_t py = 0; py < P; ++py)
                for (int64_t px = 0; px < P; ++px)
                  *dst++ = chw[static_cast<size_t>((ch * height + y0 + py) * width + x0 + px)];
        }
  return out;
}

// A size field: a bare int (shortest edge when the class resizes by it, else a square), or
// {"shortest_edge"} / {"height", "width"}.
void read_size(const nlohmann::json& v, const std::string& where, bool int_is_shortest_edge,
               std::optional<int64_t>& shortest, int64_t& height, int64_t& width) {
  if (v.is_number_integer()) {
    if (int_is_shortest_edge) shortest = v.get<int64_t>(), height = width = 0;
    else shortest.reset(), height = width = v.get<int64_t>();
  } else if (v.is_object() && v.contains("shortest_edge")) {
    shortest = v["shortest_edge"].get<int64_t>(), height = width = 0;
  } else if (v.is_object() && v.contains("height") && v.contains("width")) {
    shortest.reset(), height = v["height"].get<int64_t>(), width = v["width"].get<int64_t>();
  } else {
    AM_FAIL("{}: expected an integer, {{\"shortest_edge\": n}} or {{\"height\": h, \"width\": w}}, found {}", where,
            v.dump());
  }
  AM_CHECK((shortest && *shortest > 0) || (!shortest && height > 0 && width > 0), "{}: sizes must be positive, found {}",
           where, v.dump());
}

std::vector<double> read_triple(const nlohmann::json& v, const std::string& where) {
  if (v.is_number()) return std::vector<double>(3, v.get<double>());
  AM_CHECK(v.is_array() && v.size() == 3, "{}: expected 3 numbers (one per RGB channel), found {}", where, v.dump());
  return v.get<std::vector<double>>();
}

Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width) {
  Image out{width, height, image.channels, {}};
  out.pixels.resize(static_cast<size_t>(width * height * image.channels));
  for (int64_t y = 0; y < height; ++y)
    std::copy_n(&image.pixels[static_cast<size_t>(((y + top) * image.width + left) * image.channels)],
                width * image.channels, &out.pixels[static_cast<size_t>(y * width * image.channels)]);
  return out;
}

Image center_crop(const Image& in, int64_t crop_h, int64_t crop_w, Backend backend) {
  Image image = in;
  if (crop_h > image.height || crop_w > image.width) {  // zero padding around it first
    const int64_t left = crop_w > image.width ? (crop_w - image.width) / 2 : 0;
    const int64_t top = crop_h > image.height ? (crop_h - image.height) / 2 : 0;
    Image padded{std::max(crop_w, image.width), std::max(crop_h, image.height), image.channels, {}};
    padded.pixels.assign(static_cast<size_t>(padded.width * padded.height * padded.channels), 0);
    for (int64_t y = 0; y < image.height; ++y)
      std::copy_n(&image.pixels[static_cast<size_t>(y * image.width * image.channels)], image.width * image.channels,
                  &padded.pixels[static_cast<size_t>(((y + top) * padded.width + left) * padded.channels)]);
    image = std::move(padded);
  }
  // torchvision: int((h - ch) / 2.0); transformers' numpy crop (PIL backend): (h - ch) // 2.
  const auto offset = [&](int64_t size, int64_t crop) {
    return backend == Backend::kTorchvision ? static_cast<int64_t>((size - crop) / 2.0) : (size - crop) / 2;
  };
  return crop(image, offset(image.height, crop_h), offset(image.width, crop_w), crop_h, crop_w);
}

}  // namespace

ImageProcessorConfig parse_image_processor_config(const std::string& json, const std::string& where) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  AM_CHECK(!j.is_discarded() && j.is_object(), "{}: not a JSON object", where);
  ImageProcessorConfig c;
  c.type = j.value("image_processor_type", std::string());
  std::string base = c.type;
  for (const char* suffix : {"Fast", "Pil"})
    if (base.ends_with(suffix)) base.resize(base.size() - std::string_view(suffix).size());
  if (c.type.ends_with("Pil")) c.backend = Backend::kPil;
  const auto family = std::find_if(families().begin(), families().end(), [&](const Family& f) { return base == f.prefix; });
  AM_CHECK(family != families().end(), "{}: image_processor_type '{}' is not supported (supported: CLIPImageProcessor, "
           "SiglipImageProcessor, Qwen2VLImageProcessor, Gemma3ImageProcessor, Idefics3ImageProcessor, "
           "SmolVLMImageProcessor)", where, c.type);
  c.do_center_crop = family->do_center_crop;
  c.shortest_edge = family->shortest_edge;
  c.height = c.width = family->size;
  c.crop_height = c.crop_width = family->crop;
  c.image_mean = family->mean;
  c.resample = family->resample;
  c.image_std = family->std;
  const auto field = [&](const char* key) { return where + ": " + key; };
  // An explicit null turns a flag off, as in transformers (the None it reads is falsy).
  const auto flag = [&](const char* key, bool& out) {
    if (!j.contains(key)) return;
    AM_CHECK(j[key].is_boolean() || j[key].is_null(), "{}: expected true, false or null, found {}", field(key),
             j[key].dump());
    out = j[key].is_boolean() && j[key].get<bool>();
  };
  flag("do_convert_rgb", c.do_convert_rgb);
  flag("do_resize", c.do_resize);
  flag("do_center_crop", c.do_center_crop);
  flag("do_rescale", c.do_rescale);
  flag("do_normalize", c.do_normalize);
  bool pan_and_scan = false;
  flag("do_pan_and_scan", pan_and_scan);
  AM_CHECK(!pan_and_scan, "{}: do_pan_and_scan: Gemma 3's pan-and-scan crops are not supported (set it to false or "
           "null)", where);
  if (j.contains("size") && !family->patches && !family->tiles) read_size(j["size"], field("size"), family->shortest_edge.has_value(), c.shortest_edge, c.height, c.width);
  if (j.contains("crop_size")) {
    std::optional<int64_t> unused;
    read_size(j["crop_size"], field("crop_size"), false, unused, c.crop_height, c.crop_width);
    AM_CHECK(!unused, "{}: expected {{\"height\": h, \"width\": w}} or an integer", field("crop_size"));
  }
  if (j.contains("resample")) {
    AM_CHECK(j["resample"].is_number_integer(), "{}: expected a PIL filter number, found {}", field("resample"),
             j["resample"].dump());
    c.resample = filter_from_pil_code(j["resample"].get<int64_t>(), field("resample"));
  }
  if (j.contains("rescale_factor")) {
    AM_CHECK(j["rescale_factor"].is_number() && j["rescale_factor"].get<double>() > 0, "{}: expected a positive number, "
             "found {}", field("rescale_factor"), j["rescale_factor"].dump());
    c.rescale_factor = j["rescale_factor"].get<double>();
  }
  if (family->patches) {
    c.patch_size = positive_int(j, "patch_size", 14, where);
    c.temporal_patch_size = positive_int(j, "temporal_patch_size", 2, where);
    c.merge_size = positive_int(j, "merge_size", 2, where);
    // The pixel budget: size {shortest_edge: min, longest_edge: max}, overridden by min/max_pixels.
    c.min_pixels = 56 * 56, c.max_pixels = 28 * 28 * 1280;
    if (j.contains("size") && j["size"].is_object()) {
      c.min_pixels = positive_int(j["size"], "shortest_edge", c.min_pixels, field("size"));
      c.max_pixels = positive_int(j["size"], "longest_edge", c.max_pixels, field("size"));
    }
    c.min_pixels = positive_int(j, "min_pixels", c.min_pixels, where);
    c.max_pixels = positive_int(j, "max_pixels", c.max_pixels, where);
    AM_CHECK(c.min_pixels <= c.max_pixels, "{}: min_pixels {} is above max_pixels {}", where, c.min_pixels, c.max_pixels);
  }
  if (family->tiles) {
    // {"longest_edge": n} sizes, the class's defaults where absent (Idefics3-8B's 4 x 364 and 364).
    const auto longest = [&](const char* key, int64_t fallback) {
      if (!j.contains(key) || j[key].is_null()) return fallback;
      AM_CHECK(j[key].is_object() && j[key].contains("longest_edge"), "{}: expected {{\"longest_edge\": n}}, found {}",
               field(key), j[key].dump());
      return positive_int(j[key], "longest_edge", fallback, field(key));
    };
    c.longest_edge = longest("size", 4 * 364);
    c.tile_size = longest("max_image_size", 364);
    c.do_image_splitting = true;
    flag("do_image_splitting", c.do_image_splitting);
  }
  if (j.contains("image_mean")) c.image_mean = read_triple(j["image_mean"], field("image_mean"));
  if (j.contains("image_std")) c.image_std = read_triple(j["image_std"], field("image_std"));
  for (double s : c.image_std) AM_CHECK(s != 0, "{}: a standard deviation of 0", field("image_std"));
  return c;
}

std::string fingerprint(const ImageProcessorConfig& c) {
  auto list = [](const std::vector<double>& v) {
    std::string out;
    for (double x : v) out += fmt::format("{},", x);
    return out;
  };
  return fmt::format("{}|{}|{}{}{}{}{}|{}|{}x{}|{}x{}|{}|{}|{}|{}|{},{},{},{},{}|{}|{},{},{}", c.type,
                     static_cast<int>(c.backend),
                     c.do_convert_rgb, c.do_resize, c.do_center_crop, c.do_rescale, c.do_normalize,
                     c.shortest_edge.value_or(-1), c.height, c.width, c.crop_height, c.crop_width,
                     static_cast<int>(c.resample), c.rescale_factor, list(c.image_mean), list(c.image_std), c.patch_size,
                     c.temporal_patch_size, c.merge_size, c.min_pixels, c.max_pixels, c.pil_height_first,
                     c.longest_edge, c.tile_size, c.do_image_splitting);
}

ImageProcessorConfig read_image_processor_config(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "preprocessor_config.json";
  if (std::filesystem::is_regular_file(path)) return parse_image_processor_config(read_file(path), path.string());
  // transformers 5 saves a processor's parts in one processor_config.json.
  const auto processor = model_dir / "processor_config.json";
  AM_CHECK(std::filesystem::is_regular_file(processor),
           "{}: no preprocessor_config.json nor processor_config.json: the folder has no image processor",
           model_dir.string());
  auto json = nlohmann::json::parse(read_file(processor), nullptr, false);
  AM_CHECK(json.is_object() && json.contains("image_processor") && json["image_processor"].is_object(),
           "{}: expected an 'image_processor' object (or a preprocessor_config.json beside it)", processor.string());
  return parse_image_processor_config(json["image_processor"].dump(), processor.string() + ": image_processor");
}

std::pair<int64_t, int64_t> smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels,
                                         int64_t max_pixels) {
  const double h = static_cast<double>(height), w = static_cast<double>(width), f = static_cast<double>(factor);
  AM_CHECK(std::max(h, w) / std::min(h, w) <= 200, "image of {} x {}: the aspect ratio must be at most 200", width,
           height);
  // Python's round(): half to even, as nearbyint in the default rounding mode.
  auto h_bar = static_cast<int64_t>(std::nearbyint(h / f)) * factor, w_bar = static_cast<int64_t>(std::nearbyint(w / f)) * factor;
  if (h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt(h * w / static_cast<double>(max_pixels));
    h_bar = std::max(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    w_bar = std::max(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / (h * w));
    h_bar = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    w_bar = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return {h_bar, w_bar};
}

namespace {

// The `step`-th resize of the pipeline (its number picks its order on the PIL backend).
Image resized(const Image& image, int64_t height, int64_t width, const ImageProcessorConfig& c, int step = 0) {
  if (height == image.height && width == image.width) return image;
  return c.backend == Backend::kTorchvision
             ? resize_torchvision(image, width, height, c.resample)
             : resize_pillow(image, width, height, c.resample, (c.pil_height_first >> step) & 1u);
}

// An RGB image rescaled and normalised into float32 channel planes, as each backend rounds it.
std::vector<float> normalized(const Image& image, const ImageProcessorConfig& c) {
  std::vector<std::array<float, 256>> lut(3);  // per channel: value = f(pixel)
  for (int64_t ch = 0; ch < 3; ++ch)
    for (int v = 0; v < 256; ++v) {
      float x;
      if (c.backend == Backend::kTorchvision) {
        // Rescale folded into the normalisation: (x - mean / factor) / (std / factor), in float32.
        const float inv = static_cast<float>(1.0 / c.rescale_factor);
        if (c.do_normalize && c.do_rescale)
          x = (static_cast<float>(v) - static_cast<float>(c.image_mean[ch]) * inv) /
              (static_cast<float>(c.image_std[ch]) * inv);
        else if (c.do_normalize)
          x = (static_cast<float>(v) - static_cast<float>(c.image_mean[ch])) / static_cast<float>(c.image_std[ch]);
        else
          x = c.do_rescale ? static_cast<float>(v) * static_cast<float>(c.rescale_factor) : static_cast<float>(v);
      } else {
        // PIL backend (numpy): rescale in float64 then float32; normalise in float32.
        x = c.do_rescale ? static_cast<float>(static_cast<double>(v) * c.rescale_factor) : static_cast<float>(v);
        if (c.do_normalize) x = (x - static_cast<float>(c.image_mean[ch])) / static_cast<float>(c.image_std[ch]);
      }
      lut[static_cast<size_t>(ch)][static_cast<size_t>(v)] = x;
    }
  const int64_t plane = image.height * image.width;
  std::vector<float> out(static_cast<size_t>(3 * plane));
  for (int64_t i = 0; i < plane; ++i)
    for (int64_t ch = 0; ch < 3; ++ch)
      out[static_cast<size_t>(ch * plane + i)] = lut[static_cast<size_t>(ch)][image.pixels[static_cast<size_t>(i * 3 + ch)]];
  return out;
}

// Idefics3's sizes, in Python's arithmetic: the longest edge set to `longest` (the other edge
// truncated, then made even), both kept within 4096 pixels.
std::pair<int64_t, int64_t> longest_edge_size(int64_t height, int64_t width, int64_t longest) {
  const auto scaled = [](int64_t& h, int64_t& w, int64_t to, bool even) {
    const double aspect = static_cast<double>(w) / static_cast<double>(h);
    if (w >= h) {
      w = to, h = static_cast<int64_t>(static_cast<double>(w) / aspect);
      if (even && h % 2 != 0) ++h;
    } else {
      h = to, w = static_cast<int64_t>(static_cast<double>(h) * aspect);
      if (even && w % 2 != 0) ++w;
    }
  };
  int64_t h = height, w = width;
  scaled(h, w, longest, true);
  h = std::max<int64_t>(h, 1), w = std::max<int64_t>(w, 1);
  if (std::max(h, w) > 4096) scaled(h, w, 4096, false);
  return {std::max<int64_t>(h, 1), std::max<int64_t>(w, 1)};
}

// Idefics3's resize for the encoder: the longer edge up to a multiple of `tile`, the other edge
// scaled by the aspect ratio (truncated), then up to a multiple of `tile` too.
std::pair<int64_t, int64_t> tile_multiple_size(int64_t height, int64_t width, int64_t tile) {
  const double aspect = static_cast<double>(width) / static_cast<double>(height);
  const auto up = [tile](int64_t n) { return (n + tile - 1) / tile * tile; };
  if (width >= height) {
    const int64_t w = up(width);
    return {up(static_cast<int64_t>(static_cast<double>(w) / aspect)), w};
  }
  const int64_t h = up(height);
  return {h, up(static_cast<int64_t>(static_cast<double>(h) * aspect))};
}

// Idefics3/SmolVLM: frames of tile_size squares (the tiles row by row, then the whole image).
PixelValues tiled(Image image, const ImageProcessorConfig& c) {
  const int64_t M = c.tile_size;
  if (c.do_resize) {
    auto [h, w] = longest_edge_size(image.height, image.width, c.longest_edge);
    image = resized(image, h, w, c, 0);
  }
  std::vector<Image> frames;
  PixelValues out;
  out.tiles = {0, 0};
  if (c.do_image_splitting) {
    auto [h, w] = tile_multiple_size(image.height, image.width, M);
    image = resized(image, h, w, c, 1);
    if (h > M || w > M) {
      out.tiles = {h / M, w / M};
      for (int64_t r = 0; r < h / M; ++r)
        for (int64_t col = 0; col < w / M; ++col) frames.push_back(crop(image, r * M, col * M, M, M));
    }
  }
  frames.push_back(resized(image, M, M, c, 2));
  out.shape = {static_cast<int64_t>(frames.size()), 3, M, M};
  for (const auto& frame : frames) {
    auto values = normalized(frame, c);
    out.values.insert(out.values.end(), values.begin(), values.end());
  }
  return out;
}

}  // namespace

PixelValues preprocess(const ImageProcessorConfig& c, const Image& input) {
  // Without conversion transformers reads a palette image's indices as one gray channel.
  AM_CHECK(c.do_convert_rgb || !input.from_palette, "image processor {}: a palette image needs do_convert_rgb", c.type);
  Image image = c.do_convert_rgb ? to_rgb(input) : input;
  AM_CHECK(image.channels == 3, "image processor {}: expected an RGB image, found {} channels (do_convert_rgb is off)",
           c.type, image.channels);
  if (c.tile_size > 0) return tiled(std::move(image), c);
  if (c.do_resize) {
    int64_t h = c.height, w = c.width;
    if (c.patch_size > 0) {
      std::tie(h, w) = smart_resize(image.height, image.width, c.patch_size * c.merge_size, c.min_pixels, c.max_pixels);
    } else if (c.shortest_edge) {  // the short side to n, the long one scaled and truncated
      const int64_t shorter = std::min(image.width, image.height), longer = std::max(image.width, image.height);
      const int64_t new_long = static_cast<int64_t>(static_cast<double>(*c.shortest_edge) * static_cast<double>(longer) /
                                                    static_cast<double>(shorter));
      h = image.width <= image.height ? new_long : *c.shortest_edge;
      w = image.width <= image.height ? *c.shortest_edge : new_long;
    }
    image = resized(image, h, w, c);
  }
  if (c.do_center_crop) image = center_crop(image, c.crop_height, c.crop_width, c.backend);

  PixelValues out{{3, image.height, image.width}, normalized(image, c), {}, {}};
  if (c.patch_size > 0) {
    AM_CHECK(image.height % (c.patch_size * c.merge_size) == 0 && image.width % (c.patch_size * c.merge_size) == 0,
             "image processor {}: a {} x {} image does not divide into {}-pixel merged patches (do_resize is off)",
             c.type, image.width, image.height, c.patch_size * c.merge_size);
    return patch_rows(out.values, image.height, image.width, c);
  }
  return out;
}

}  // namespace automodel::vision
