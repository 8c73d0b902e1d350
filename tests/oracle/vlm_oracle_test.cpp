// Vision-language models against transformers 5 itself (tests/oracles/hf_vlm.py builds, perturbs,
// saves and runs tiny VLMs with images in the batch): `automodel debug forward` with the same
// input_ids, pixel_values and labels must give the logits, loss, every hidden state and the
// gradient of every parameter (tower, projector, language model); and Idefics3's bucketed vision
// positions against its embeddings module.
#include <fmt/format.h>

#include <unistd.h>

#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/models/vision/vision_tower.h"
#include "parity/debug_forward_parity.h"
#include "test_util.h"

namespace automodel {
namespace {

const std::filesystem::path& vlms_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / fmt::format("automodel_vlms_{}", ::getpid());
    std::filesystem::remove_all(d);
    auto r = testing::run_command("'" + testing::python() + "' '" + testing::oracle_script("hf_vlm.py").string() +
                                  "' '" + d.string() + "' 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("hf_vlm.py failed:\n" + r.output);
    return d;
  }();
  return dir;
}

class LiveVisionLanguageModel : public ::testing::TestWithParam<std::string> {};

TEST_P(LiveVisionLanguageModel, LogitsLossAndEveryGradientMatchTransformers) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers safetensors");
  const auto dir = vlms_dir() / GetParam();
  testing::TempDir tmp;
  auto result = testing::run_debug_forward(dir, dir / "expected.safetensors", tmp / "out.safetensors");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // logits, loss, 3 hidden states and a gradient per parameter
  const auto params = static_cast<int>(hf::SafetensorsCheckpoint::open(dir / "model.safetensors").names().size());
  EXPECT_EQ(testing::expect_every_tensor_matches(dir / "expected.safetensors", tmp / "out.safetensors", GetParam()),
            params + 5);
}

INSTANTIATE_TEST_SUITE_P(Vlms, LiveVisionLanguageModel, ::testing::Values("llava_clip", "llava_siglip_layers_full", "gemma3", "qwen2_vl",
                                                                     "qwen2_5_vl", "idefics3", "smolvlm"));

// Idefics3's vision positions: an image of h x w patches looks up the bucketed fractions of the
// position grid, computed in the model's dtype; in bfloat16 (Idefics3's 26 and SmolVLM's 27 patch
// grids) they are not the identity even for a full tile, and must still be transformers' ids.
TEST(Idefics3Positions, BucketedIdsEqualTransformersInFloat32AndBfloat16) {
  AUTOMODEL_REQUIRE_ORACLE("torch transformers");
  const std::vector<std::string> cases = {"26:26:26:float32", "26:26:26:bfloat16", "27:27:27:bfloat16",
                                          "32:32:32:bfloat16", "27:13:20:bfloat16", "4:3:2:float32"};
  testing::TempDir tmp;
  std::string args;
  for (const auto& c : cases) args += " " + c;
  auto r = testing::run_command("'" + testing::python() + "' '" + testing::oracle_script("hf_idefics3_positions.py").string() +
                                "' '" + (tmp / "ids.json").string() + "'" + args + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto expected = nlohmann::json::parse(read_file(tmp / "ids.json"));
  int not_identity = 0;
  for (const auto& c : cases) {
    int64_t grid = 0, h = 0, w = 0;
    char dtype[16] = {};
    ASSERT_EQ(std::sscanf(c.c_str(), "%ld:%ld:%ld:%15s", &grid, &h, &w, dtype), 4);
    const auto ids = models::bucketed_position_ids(grid, h, w, std::string(dtype) == "bfloat16" ? at::kBFloat16 : at::kFloat,
                                                   at::kCPU);
    const auto want = expected[c].get<std::vector<int64_t>>();
    EXPECT_EQ(std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel()), want) << c;
    if (h == grid && w == grid) {
      std::vector<int64_t> identity(static_cast<size_t>(grid * grid));
      std::iota(identity.begin(), identity.end(), 0);
      not_identity += want != identity;
    }
  }
  EXPECT_GE(not_identity, 2);  // the bfloat16 grids of 26 and 27 move
}

}  // namespace
}  // namespace automodel
