// The CUDA build on a GPU: every HF fixture model run by `automodel debug forward --device cuda`
// (fp32) must reproduce the golden tensors transformers wrote on CPU, within the same
// tolerances as on CPU. Label `cuda`: skipped where no GPU is visible (our CPU machines and CI).
#include <gtest/gtest.h>

#include <ATen/Context.h>

#include "automodel/hf/model_config.h"
#include "automodel/models/registry.h"
#include "parity/debug_forward_parity.h"
#include "test_util.h"

namespace automodel {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> registered_fixtures() {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(automodel::testing::fixtures_dir() / "hf")) {
    if (!fs::exists(entry.path() / "expected.safetensors")) continue;
    auto type = hf::load_model_config(entry.path()).model_type;
    for (const auto& a : models::architectures())
      if (a.model_type == type) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class CudaParity : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaParity, DebugForwardOnGpuMatchesHfCpuGoldenTensors) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no GPU visible";
  fs::path fixture = GetParam();
  automodel::testing::TempDir tmp;
  auto result =
      automodel::testing::run_debug_forward(fixture, fixture / "expected.safetensors", tmp / "out.safetensors", "--device cuda");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_GE(automodel::testing::expect_every_tensor_matches(fixture / "expected.safetensors", tmp / "out.safetensors",
                                                            fixture.filename().string() + " on cuda"),
            5);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaParity, ::testing::ValuesIn(registered_fixtures()),
                         [](const auto& info) { return automodel::testing::param_name(fs::path(info.param).filename().string()); });

}  // namespace
}  // namespace automodel
