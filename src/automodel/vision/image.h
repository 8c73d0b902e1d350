// Decoded images as the processors see them: 8-bit pixels, row-major, channels interleaved (HWC).
// JPEG through libjpeg-turbo and PNG through libpng with the settings Pillow uses, so the pixels
// equal what PIL.Image.open(...).convert("RGB") gives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace automodel::vision {

// channels: 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA); a palette image is expanded to RGB(A).
struct Image {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // height x width x channels
  bool from_palette = false;     // a palette PNG, expanded
  uint8_t at(int64_t y, int64_t x, int64_t c) const {
    return pixels[static_cast<size_t>((y * width + x) * channels + c)];
  }
};

// Images above this many pixels are refused before decoding (Pillow's decompression-bomb limit
// is 2 x 89.5 M pixels).
inline constexpr int64_t kMaxImagePixels = 178956970;

// Decodes JPEG or PNG bytes (told apart by their signature). `name` (a path) is for errors: an
// unknown format, a corrupt or truncated file, a 16-bit PNG or an image over kMaxImagePixels.
Image decode_image(std::string_view bytes, const std::string& name);
Image read_image(const std::filesystem::path& path);

// PIL's convert("RGB"): L replicated, alpha dropped.
Image to_rgb(const Image& image);

}  // namespace automodel::vision
