#include "automodel/vision/resize.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "automodel/common/error.h"

namespace automodel::vision {
namespace {

// One axis of a separable resize: output i reads count[i] inputs from first[i] with the integer
// weights w[i * ksize ...], summed from 2^(precision-1), shifted right by precision, clamped.
struct AxisPlan {
  int64_t ksize = 0;
  int precision = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> weights;
};

// Weights in double, normalised to sum 1, per output position; the sampling window is the
// filter's support scaled by the shrink factor (antialiasing), centred on the output pixel.
struct DoubleWeights {
  int64_t ksize = 0;
  std::vector<int64_t> first, count;
  std::vector<double> w;
};

DoubleWeights window_weights(int64_t in, int64_t out, double support_at_scale_1,
                             const std::function<double(double)>& filter) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double filterscale = std::max(scale, 1.0);
  const double support = support_at_scale_1 * filterscale, inverse = 1.0 / filterscale;
  DoubleWeights d;
  d.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  d.first.resize(static_cast<size_t>(out));
  d.count.resize(static_cast<size_t>(out));
  d.w.assign(static_cast<size_t>(out * d.ksize), 0.0);
  for (int64_t i = 0; i < out; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    // C casts truncate toward zero, then the window is clamped to the image.
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t n = std::clamp<int64_t>(std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in) - lo, 0,
                                          d.ksize);
    double* k = &d.w[static_cast<size_t>(i * d.ksize)];
    double total = 0;
    for (int64_t j = 0; j < n; ++j) total += k[j] = filter((static_cast<double>(j + lo) - center + 0.5) * inverse);
    if (total != 0)
      for (int64_t j = 0; j < n; ++j) k[j] /= total;
    d.first[static_cast<size_t>(i)] = lo;
    d.count[static_cast<size_t>(i)] = n;
  }
  return d;
}

int32_t round_away(double w, int precision) {
  const double scaled = w * static_cast<double>(int64_t{1} << precision);
  return static_cast<int32_t>(w < 0 ? scaled - 0.5 : scaled + 0.5);
}

AxisPlan to_fixed_point(const DoubleWeights& d, int precision) {
  AxisPlan p{d.ksize, precision, d.first, d.count, std::vector<int32_t>(d.w.size())};
  for (size_t i = 0; i < d.w.size(); ++i) p.weights[i] = round_away(d.w[i], precision);
  return p;
}

template <int C>
void horizontal_pass(const Image& in, Image& r, const AxisPlan& plan) {
  const int32_t half = int32_t{1} << (plan.precision - 1);
  for (int64_t y = 0; y < r.height; ++y) {
    const uint8_t* src = &in.pixels[static_cast<size_t>(y * in.width * C)];
    uint8_t* dst = &r.pixels[static_cast<size_t>(y * r.width * C)];
    for (int64_t x = 0; x < r.width; ++x) {
      const int64_t lo = plan.first[static_cast<size_t>(x)], n = plan.count[static_cast<size_t>(x)];
      const int32_t* k = &plan.weights[static_cast<size_t>(x * plan.ksize)];
      const uint8_t* s = src + lo * C;
      int32_t sums[C];
      for (int c = 0; c < C; ++c) sums[c] = half;
      for (int64_t j = 0; j < n; ++j)
        for (int c = 0; c < C; ++c) sums[c] += static_cast<int32_t>(s[j * C + c]) * k[j];
      for (int c = 0; c < C; ++c) dst[x * C + c] = static_cast<uint8_t>(std::clamp(sums[c] >> plan.precision, 0, 255));
    }
  }
}

// Resamples along x (horizontal) or y into an image of `out` columns or rows. The sums fit in 32
// bits (255 x the weights' absolute sum, < 1.5, x 2^22) and run over contiguous memory: a pixel's
// taps along a row, or whole rows scaled and added for the vertical pass.
Image resample_axis(const Image& in, bool horizontal, int64_t out, const AxisPlan& plan) {
  Image r{horizontal ? out : in.width, horizontal ? in.height : out, in.channels, {}, in.from_palette};
  r.pixels.resize(static_cast<size_t>(r.width * r.height * r.channels));
  const int64_t C = in.channels;
  const int32_t half = int32_t{1} << (plan.precision - 1);
  const auto store = [&](int32_t sum) { return static_cast<uint8_t>(std::clamp(sum >> plan.precision, 0, 255)); };
  if (horizontal) {
    switch (C) {  // the channel count as a constant lets the compiler unroll the taps
      case 1: horizontal_pass<1>(in, r, plan); break;
      case 2: horizontal_pass<2>(in, r, plan); break;
      case 3: horizontal_pass<3>(in, r, plan); break;
      default: horizontal_pass<4>(in, r, plan); break;
    }
    return r;
  }
  const int64_t row = in.width * C;
  std::vector<int32_t> acc(static_cast<size_t>(row));
  for (int64_t y = 0; y < r.height; ++y) {
    const int64_t lo = plan.first[static_cast<size_t>(y)], n = plan.count[static_cast<size_t>(y)];
    const int32_t* k = &plan.weights[static_cast<size_t>(y * plan.ksize)];
    std::fill(acc.begin(), acc.end(), half);
    for (int64_t j = 0; j < n; ++j) {
      const uint8_t* src = &in.pixels[static_cast<size_t>((lo + j) * row)];
      const int32_t w = k[j];
      for (int64_t i = 0; i < row; ++i) acc[static_cast<size_t>(i)] += static_cast<int32_t>(src[i]) * w;
    }
    uint8_t* dst = &r.pixels[static_cast<size_t>(y * row)];
    for (int64_t i = 0; i < row; ++i) dst[i] = store(acc[static_cast<size_t>(i)]);
  }
  return r;
}

void check_target(const Image& image, int64_t width, int64_t height) {
  AM_CHECK(width > 0 && height > 0, "resize: target size {} x {} must be positive", width, height);
  AM_CHECK(image.width > 0 && image.height > 0, "resize: empty image");
}

Image separable(const Image& image, int64_t width, int64_t height,
                const std::function<AxisPlan(int64_t in, int64_t out)>& plan_axis, bool height_first = false) {
  Image out = image;  // an axis whose size is unchanged is not resampled
  const auto across = [&] {
    if (width != image.width) out = resample_axis(out, true, width, plan_axis(image.width, width));
  };
  const auto down = [&] {
    if (height != image.height) out = resample_axis(out, false, height, plan_axis(image.height, height));
  };
  if (height_first) down(), across();
  else across(), down();
  return out;
}

// The triangle (bilinear) filter: the same expression in Pillow and PyTorch.
double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow's filters (libImaging/Resample.c), in its evaluation order.
double pillow_bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double pillow_lanczos(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

// PyTorch's anti-aliasing bicubic (the uint8 kernel's), in its evaluation order.
double torch_bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

}  // namespace

Filter filter_from_pil_code(int64_t code, const std::string& where) {
  switch (code) {
    case 0: return Filter::kNearest;
    case 1: return Filter::kLanczos;
    case 2: return Filter::kBilinear;
    case 3: return Filter::kBicubic;
    case 4: return Filter::kBox;
    case 5: return Filter::kHamming;
    default: AM_FAIL("{}: expected a PIL resampling filter 0-5 (NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING), found {}",
                     where, code);
  }
}

std::string filter_name(Filter filter) {
  switch (filter) {
    case Filter::kNearest: return "nearest";
    case Filter::kBox: return "box";
    case Filter::kBilinear: return "bilinear";
    case Filter::kHamming: return "hamming";
    case Filter::kBicubic: return "bicubic";
    case Filter::kLanczos: return "lanczos";
  }
  return "?";
}

Image resize_pillow(const Image& image, int64_t width, int64_t height, Filter filter, bool height_first) {
  check_target(image, width, height);
  std::function<double(double)> f;
  double support = 0;
  if (filter == Filter::kBilinear) f = triangle, support = 1.0;
  else if (filter == Filter::kBicubic) f = pillow_bicubic, support = 2.0;
  else if (filter == Filter::kLanczos) f = pillow_lanczos, support = 3.0;
  else AM_FAIL("resize: Pillow's {} filter is not supported (bilinear, bicubic, lanczos are)", filter_name(filter));
  constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's 8-bit path
  return separable(
      image, width, height,
      [&](int64_t in, int64_t out) { return to_fixed_point(window_weights(in, out, support, f), kPrecisionBits); },
      height_first);
}

Image resize_torchvision(const Image& image, int64_t width, int64_t height, Filter filter) {
  check_target(image, width, height);
  std::function<double(double)> f;
  double support = 0;
  if (filter == Filter::kBilinear) f = triangle, support = 1.0;
  else if (filter == Filter::kBicubic) f = torch_bicubic, support = 2.0;
  else if (filter == Filter::kLanczos) f = pillow_lanczos, support = 3.0;  // the same 3-lobe sinc window
  else AM_FAIL("resize: torchvision's uint8 antialiased resize supports bilinear, bicubic and lanczos, not {}",
               filter_name(filter));
  return separable(image, width, height, [&](int64_t in, int64_t out) {
    auto d = window_weights(in, out, support, f);
    // 16-bit weights with as many fraction bits as the largest weight leaves room for.
    const double largest = *std::max_element(d.w.begin(), d.w.end());
    int precision = 0;
    while (precision < 22 && static_cast<int>(0.5 + largest * static_cast<double>(1 << (precision + 1))) < (1 << 15))
      ++precision;
    return to_fixed_point(d, precision);
  });
}

}  // namespace automodel::vision
