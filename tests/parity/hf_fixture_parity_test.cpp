// Parity with HF transformers: `automodel debug forward` on every fixture folder must reproduce
// every tensor of expected.safetensors (logits, loss, hidden states, layer outputs, router
// logits, gradients) within max|d|/max|expected| <= 1e-5 (forward) and 1e-4 (gradients).
// Extra fixture roots can be added with AUTOMODEL_EXTRA_FIXTURES=dir1:dir2.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "automodel/common/string_util.h"
#include "automodel/hf/model_config.h"
#include "automodel/models/registry.h"
#include "automodel/models/vision/vision_language.h"
#include "parity/debug_forward_parity.h"
#include "test_util.h"

namespace automodel {
namespace {

namespace fs = std::filesystem;
using automodel::testing::TempDir;

// Fixture folders whose model_type we register, as a language model or a VLM.
std::vector<std::string> fixture_dirs() {
  std::vector<fs::path> roots = {automodel::testing::fixtures_dir() / "hf"};
  if (const char* extra = std::getenv("AUTOMODEL_EXTRA_FIXTURES"))
    for (const auto& r : split(extra, ':'))
      if (!r.empty()) roots.emplace_back(r);
  std::vector<std::string> out;
  for (const auto& root : roots) {
    if (!fs::is_directory(root)) continue;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (!fs::exists(entry.path() / "expected.safetensors")) continue;
      auto type = hf::load_model_config(entry.path()).model_type;
      bool known = false;
      for (const auto& a : models::architectures()) known |= a.model_type == type;
      for (const auto& a : models::vision_language_architectures()) known |= a.model_type == type;
      if (known) out.push_back(entry.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class HfFixtureParity : public ::testing::TestWithParam<std::string> {};

TEST_P(HfFixtureParity, DebugForwardMatchesEveryExpectedTensor) {
  fs::path fixture = GetParam();
  TempDir tmp;
  auto out_path = tmp / "out.safetensors";
  auto result = automodel::testing::run_debug_forward(fixture, fixture / "expected.safetensors", out_path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  int compared = automodel::testing::expect_every_tensor_matches(fixture / "expected.safetensors", out_path,
                                                                 fixture.filename().string());
  EXPECT_GE(compared, 5) << "fixture has too few tensors to be meaningful";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfFixtureParity, ::testing::ValuesIn(fixture_dirs()), [](const auto& info) { return automodel::testing::param_name(fs::path(info.param).filename().string()); });

}  // namespace
}  // namespace automodel
