// Vision-language models against transformers 5 itself (tests/oracles/hf_vlm.py builds, perturbs,
// saves and runs tiny VLMs with images in the batch): `automodel debug forward` with the same
// input_ids, pixel_values and labels must give the logits, loss, every hidden state and the
// gradient of every parameter (tower, projector, language model).
#include <fmt/format.h>

#include <unistd.h>

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
                                                                     "qwen2_5_vl"));

}  // namespace
}  // namespace automodel
