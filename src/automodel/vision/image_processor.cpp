#include "automodel/vision/image_processor.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

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
};
const std::vector<Family>& families() {
  static const std::vector<Family> kFamilies = {
      {"CLIPImageProcessor", true, 224, 0, 224, {0.48145466, 0.4578275, 0.40821073}, {0.26862954, 0.26130258, 0.27577711}},
      {"SiglipImageProcessor", false, std::nullopt, 224, 0, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}},
  };
  return kFamilies;
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
  const int64_t top = offset(image.height, crop_h), left = offset(image.width, crop_w);
  Image out{crop_w, crop_h, image.channels, {}};
  out.pixels.resize(static_cast<size_t>(crop_w * crop_h * image.channels));
  for (int64_t y = 0; y < crop_h; ++y)
    std::copy_n(&image.pixels[static_cast<size_t>(((y + top) * image.width + left) * image.channels)],
                crop_w * image.channels, &out.pixels[static_cast<size_t>(y * crop_w * image.channels)]);
  return out;
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
           "SiglipImageProcessor)", where, c.type);
  c.do_center_crop = family->do_center_crop;
  c.shortest_edge = family->shortest_edge;
  c.height = c.width = family->size;
  c.crop_height = c.crop_width = family->crop;
  c.image_mean = family->mean;
  c.image_std = family->std;
  const auto field = [&](const char* key) { return where + ": " + key; };
  const auto flag = [&](const char* key, bool& out) {
    if (!j.contains(key) || j[key].is_null()) return;
    AM_CHECK(j[key].is_boolean(), "{}: expected true or false, found {}", field(key), j[key].dump());
    out = j[key].get<bool>();
  };
  flag("do_convert_rgb", c.do_convert_rgb);
  flag("do_resize", c.do_resize);
  flag("do_center_crop", c.do_center_crop);
  flag("do_rescale", c.do_rescale);
  flag("do_normalize", c.do_normalize);
  if (j.contains("size")) read_size(j["size"], field("size"), family->shortest_edge.has_value(), c.shortest_edge, c.height, c.width);
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
  if (j.contains("image_mean")) c.image_mean = read_triple(j["image_mean"], field("image_mean"));
  if (j.contains("image_std")) c.image_std = read_triple(j["image_std"], field("image_std"));
  for (double s : c.image_std) AM_CHECK(s != 0, "{}: a standard deviation of 0", field("image_std"));
  return c;
}

ImageProcessorConfig read_image_processor_config(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "preprocessor_config.json";
  AM_CHECK(std::filesystem::is_regular_file(path), "{} not found: the model folder has no image processor", path.string());
  return parse_image_processor_config(read_file(path), path.string());
}

PixelValues preprocess(const ImageProcessorConfig& c, const Image& input) {
  Image image = c.do_convert_rgb ? to_rgb(input) : input;
  AM_CHECK(image.channels == 3, "image processor {}: expected an RGB image, found {} channels (do_convert_rgb is off)",
           c.type, image.channels);
  if (c.do_resize) {
    int64_t h = c.height, w = c.width;
    if (c.shortest_edge) {  // the short side to n, the long one scaled and truncated
      const int64_t shorter = std::min(image.width, image.height), longer = std::max(image.width, image.height);
      const int64_t new_long = static_cast<int64_t>(static_cast<double>(*c.shortest_edge) * static_cast<double>(longer) /
                                                    static_cast<double>(shorter));
      h = image.width <= image.height ? new_long : *c.shortest_edge;
      w = image.width <= image.height ? *c.shortest_edge : new_long;
    }
    if (h != image.height || w != image.width)
      image = c.backend == Backend::kTorchvision ? resize_torchvision(image, w, h, c.resample)
                                                 : resize_pillow(image, w, h, c.resample);
  }
  if (c.do_center_crop) image = center_crop(image, c.crop_height, c.crop_width, c.backend);

  PixelValues out{3, image.height, image.width, {}};
  out.values.resize(static_cast<size_t>(3 * image.height * image.width));
  // Per channel: value = f(pixel), in float32 as each backend rounds it.
  std::vector<std::array<float, 256>> lut(3);
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
  for (int64_t i = 0; i < plane; ++i)
    for (int64_t ch = 0; ch < 3; ++ch)
      out.values[static_cast<size_t>(ch * plane + i)] = lut[static_cast<size_t>(ch)][image.pixels[static_cast<size_t>(i * 3 + ch)]];
  return out;
}

}  // namespace automodel::vision
