// Checks shared by the training-curve tests: the PNG's IHDR header read here, and what Pillow and
// Python's XML parser (tests/oracles/plot_image.py) see in the PNG and SVG.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "test_util.h"

namespace automodel::testing {

// Curve colours of training_plots.cpp: train loss, val loss, lr, grad norm, tps.
inline const std::array<std::string, 5> kCurveColours = {"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd"};

// (width, height) from the PNG signature and IHDR chunk; (0, 0) when they are not there.
inline std::pair<uint32_t, uint32_t> png_size(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[24] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (in.gcount() != 24 || std::memcmp(h, kSignature, 8) != 0 || std::memcmp(h + 12, "IHDR", 4) != 0) return {0, 0};
  auto be32 = [&](int at) { return uint32_t{h[at]} << 24 | uint32_t{h[at + 1]} << 16 | uint32_t{h[at + 2]} << 8 | h[at + 3]; };
  return {be32(16), be32(20)};
}

// The oracle's facts about the pair of pictures (see plot_image.py).
inline nlohmann::json picture_facts(const std::filesystem::path& png, const std::filesystem::path& svg) {
  std::string cmd = "'" + python() + "' '" + oracle_script("plot_image.py").string() + "' '" + png.string() + "' '" +
                    svg.string() + "'";
  for (const auto& c : kCurveColours) cmd += " " + c;
  auto r = run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.exit_code == 0 ? nlohmann::json::parse(r.output) : nlohmann::json::object();
}

// A 1280x960 PNG with real content and an SVG holding exactly one polyline per curve, with
// `steps` points for each training curve and `val_points` for validation (0: no such curve).
inline void expect_training_pictures(const std::filesystem::path& dir, size_t steps, size_t val_points) {
  const auto png = dir / "training_curves.png", svg = dir / "training_curves.svg";
  ASSERT_TRUE(std::filesystem::exists(png)) << png;
  ASSERT_TRUE(std::filesystem::exists(svg)) << svg;
  EXPECT_EQ(png_size(png), (std::pair<uint32_t, uint32_t>{1280, 960}));
  if (auto why = missing_oracle("PIL"); !why.empty()) {
    if (oracles_required()) FAIL() << why;
    std::fprintf(stderr, "%s: PNG content and SVG structure not checked\n", why.c_str());
    return;
  }
  const auto facts = picture_facts(png, svg);
  ASSERT_TRUE(facts.contains("png"));
  EXPECT_EQ(facts["png"]["format"], "PNG");
  EXPECT_EQ(facts["png"]["size"], nlohmann::json::array({1280, 960}));
  // Anti-aliased text and lines in five colours: far more than a blank or flat image has.
  EXPECT_GT(facts["png"]["colors"].get<int>(), 100) << facts.dump();
  for (size_t i = 0; i < kCurveColours.size(); ++i) {
    const auto& c = kCurveColours[i];
    const bool drawn = i != 1 || val_points > 0;
    SCOPED_TRACE("curve colour " + c);
    if (drawn) EXPECT_GT(facts["png"]["near"][c].get<int>(), 30) << "the curve is not in the PNG";
    const auto& lines = facts["svg"]["polylines"][c];
    const size_t expected_points = i == 1 ? val_points : steps;
    if (!drawn || expected_points < 2) {  // a single point is a marker, not a line
      EXPECT_EQ(lines.size(), 0u);
      continue;
    }
    ASSERT_EQ(lines.size(), 1u) << "expected one polyline per curve: " << facts["svg"].dump();
    EXPECT_EQ(lines[0].get<size_t>(), expected_points);
  }
}

}  // namespace automodel::testing
