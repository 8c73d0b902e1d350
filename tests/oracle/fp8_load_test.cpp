// FP8 checkpoints (F8_E4M3 / F8_E5M2 in safetensors, as DeepSeek-V3-style block-quantized and
// other FP8 releases ship them) decode on load exactly as torch converts them: every one of the
// 256 bit patterns of each format, written by the safetensors package, must give torch's float32
// value (NaN where torch gives NaN).
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/isnan.h>

#include <fstream>

#include "automodel/common/torch_util.h"
#include "automodel/hf/safetensors.h"
#include "test_util.h"

namespace automodel {
namespace {

constexpr const char* kWriteFp8 = R"PY(
import sys, torch
from safetensors.torch import save_file
bits = torch.arange(256, dtype=torch.int32).to(torch.uint8)
out = {}
for name, dtype in (("e4m3", torch.float8_e4m3fn), ("e5m2", torch.float8_e5m2)):
    fp8 = bits.clone().view(dtype)
    out[name] = fp8
    out[name + ".float"] = fp8.float()
save_file(out, sys.argv[1])
)PY";

TEST(Fp8Load, EveryBitPatternDecodesAsTorchConvertsIt) {
  AUTOMODEL_REQUIRE_ORACLE("torch safetensors");
  testing::TempDir tmp;
  auto file = tmp / "fp8.safetensors";
  std::string script_path = (tmp / "write_fp8.py").string();
  {
    std::ofstream(script_path) << kWriteFp8;
  }
  auto r = testing::run_command("'" + testing::python() + "' " + script_path + " " + file.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto checkpoint = hf::SafetensorsCheckpoint::open(file);
  for (const std::string name : {"e4m3", "e5m2"}) {
    auto view = checkpoint.get(name);
    ASSERT_EQ(view.entry->dtype, name == "e4m3" ? hf::DType::F8_E4M3 : hf::DType::F8_E5M2);
    auto ours = tensor_from_view(view, at::kFloat, c10::Device(c10::kCPU));
    auto want = tensor_from_view(checkpoint.get(name + ".float"), at::kFloat, c10::Device(c10::kCPU));
    ASSERT_EQ(ours.sizes(), want.sizes());
    EXPECT_TRUE(at::isnan(ours).equal(at::isnan(want))) << name << ": NaN patterns differ";
    auto finite = at::isnan(want).logical_not();
    EXPECT_TRUE(ours.masked_select(finite).equal(want.masked_select(finite))) << name << ": values differ";
    EXPECT_GT(finite.sum().item<int64_t>(), 200) << name;  // the formats have few NaN patterns
  }
}

}  // namespace
}  // namespace automodel
