// A grid of line-chart panels drawn with PLplot into a PNG (pngcairo driver) or an SVG (svg
// driver): the small, torch-free drawing layer under the training-curve pictures.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace automodel::train {

struct Series {
  std::string label;
  std::vector<double> x, y;  // finite values, same length
  uint32_t rgb = 0;          // 0xRRGGBB
  bool markers = false;      // also mark each point (sparse series such as validation)
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;  // more than one gets a legend
};

struct Figure {
  std::vector<Panel> panels;  // row-major into `columns` columns
  int columns = 2;
  int width = 1280, height = 960;  // pixels (PNG) / points (SVG)
};

enum class ImageFormat { kPng, kSvg };

// Writes `figure` to `out` (atomically: a temporary file renamed into place). Throws
// automodel::Error when the driver is missing, the file cannot be written, or PLplot reports an
// error; after a fatal PLplot error, later calls in this process fail fast.
void render_figure(const Figure& figure, const std::filesystem::path& out, ImageFormat format);

}  // namespace automodel::train
