// CLIP and SigLIP vision towers against transformers 5 itself (tests/oracles/hf_vision_towers.py
// builds, perturbs, saves and runs tiny CLIPVisionModel/SiglipVisionModel): forward, every hidden
// state and the gradient of every parameter. Loads the v5 save layout (no "vision_model." prefix).
#include <fmt/format.h>

#include <unistd.h>

#include "parity/vision_tower_parity.h"
#include "test_util.h"

namespace automodel {
namespace {

const std::filesystem::path& towers_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / fmt::format("automodel_vision_towers_{}", ::getpid());
    std::filesystem::remove_all(d);
    auto r = testing::run_command("'" + testing::python() + "' '" + testing::oracle_script("hf_vision_towers.py").string() +
                                  "' '" + d.string() + "' 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("hf_vision_towers.py failed:\n" + r.output);
    return d;
  }();
  return dir;
}

class LiveVisionTower : public ::testing::TestWithParam<std::string> {};

TEST_P(LiveVisionTower, ForwardAndEveryGradientMatchTransformers) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors");
  const auto dir = towers_dir() / GetParam();
  const int64_t params = static_cast<int64_t>(hf::SafetensorsCheckpoint::open(dir / "model.safetensors").names().size());
  EXPECT_EQ(testing::expect_vision_tower_matches(dir), params);
}

INSTANTIATE_TEST_SUITE_P(Towers, LiveVisionTower, ::testing::Values("clip", "siglip"));

}  // namespace
}  // namespace automodel
