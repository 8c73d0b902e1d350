#include "automodel/vision/image.h"

// jpeglib.h needs <cstdio> first.
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include <csetjmp>
#include <cstring>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"

namespace automodel::vision {
namespace {

void check_size(int64_t width, int64_t height, const std::string& name) {
  AM_CHECK(width > 0 && height > 0, "image {}: empty ({} x {} pixels)", name, width, height);
  AM_CHECK(width * height <= kMaxImagePixels, "image {}: {} x {} pixels is over the limit of {} (a decompression bomb?)",
           name, width, height, kMaxImagePixels);
}

// libjpeg reports errors through a callback that must not return: jump back out of the decoder.
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  bool ended_early = false;  // libjpeg's "premature end of data" warning: it pads the rest
};

void on_jpeg_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  cinfo->err->format_message(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Pillow's defaults: integer IDCT (JDCT_ISLOW), fancy upsampling, no scaling; grayscale stays L.
Image decode_jpeg(std::string_view bytes, const std::string& name) {
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_jpeg_error;
  // Warnings (extraneous bytes, ...) are not errors, as in Pillow; a premature end is.
  err.mgr.emit_message = [](j_common_ptr c, int level) {
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<JpegError*>(c->err)->ended_early = true;
  };
  Image image;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    AM_FAIL("image {}: not a readable JPEG: {}", name, err.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  const bool gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    AM_FAIL("image {}: CMYK JPEGs are not supported (convert it to RGB)", name);
  }
  cinfo.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  jpeg_start_decompress(&cinfo);
  image.width = cinfo.output_width;
  image.height = cinfo.output_height;
  image.channels = cinfo.output_components;
  try {
    check_size(image.width, image.height, name);
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  image.pixels.resize(static_cast<size_t>(image.width * image.height * image.channels));
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image.pixels.data() + static_cast<size_t>(cinfo.output_scanline) * image.width * image.channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  AM_CHECK(!err.ended_early, "image {}: the JPEG data ends early (truncated file?)", name);
  return image;
}

struct PngReader {
  std::string_view bytes;
  size_t offset = 0;
};

Image decode_png(std::string_view bytes, const std::string& name) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  AM_CHECK(png != nullptr, "image {}: cannot start the PNG decoder", name);
  png_infop info = png_create_info_struct(png);
  PngReader reader{bytes, 0};
  Image image;
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    AM_FAIL("image {}: not a readable PNG (corrupt or truncated)", name);
  }
  png_set_read_fn(png, &reader, [](png_structp p, png_bytep out, png_size_t n) {
    auto* r = static_cast<PngReader*>(png_get_io_ptr(p));
    if (r->offset + n > r->bytes.size()) png_error(p, "truncated");
    std::memcpy(out, r->bytes.data() + r->offset, n);
    r->offset += n;
  });
  png_read_info(png, info);
  const auto width = static_cast<int64_t>(png_get_image_width(png, info));
  const auto height = static_cast<int64_t>(png_get_image_height(png, info));
  const int depth = png_get_bit_depth(png, info), color = png_get_color_type(png, info);
  if (depth == 16 || width <= 0 || height <= 0 || width * height > kMaxImagePixels) {
    png_destroy_read_struct(&png, &info, nullptr);
    AM_CHECK(depth != 16, "image {}: 16-bit PNGs are not supported (save it with 8 bits per channel)", name);
    check_size(width, height, name);
  }
  // Palette and low-bit grayscale to 8 bits; a palette's transparency becomes an alpha channel.
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  image.width = width;
  image.height = height;
  image.channels = png_get_channels(png, info);
  image.from_palette = color == PNG_COLOR_TYPE_PALETTE;
  image.pixels.resize(static_cast<size_t>(width * height * image.channels));
  rows.resize(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[static_cast<size_t>(y)] = image.pixels.data() + y * width * image.channels;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return image;
}

}  // namespace

Image decode_image(std::string_view bytes, const std::string& name) {
  static constexpr unsigned char kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) return decode_png(bytes, name);
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xD8 &&
      static_cast<unsigned char>(bytes[2]) == 0xFF)
    return decode_jpeg(bytes, name);
  AM_FAIL("image {}: not a JPEG or PNG file ({} bytes)", name, bytes.size());
}

Image read_image(const std::filesystem::path& path) { return decode_image(read_file(path), path.string()); }

Image to_rgb(const Image& image) {
  if (image.channels == 3) return image;
  Image out{image.width, image.height, 3, {}, image.from_palette};
  out.pixels.resize(static_cast<size_t>(image.width * image.height * 3));
  const int64_t n = image.width * image.height, c = image.channels;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < 3; ++k)
      out.pixels[static_cast<size_t>(i * 3 + k)] = image.pixels[static_cast<size_t>(i * c + (c <= 2 ? 0 : k))];
  return out;
}

}  // namespace automodel::vision
