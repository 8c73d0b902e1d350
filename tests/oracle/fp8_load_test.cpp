// Low-precision checkpoints decode on load as torch and transformers decode them: FP8 (F8_E4M3 /
// F8_E5M2, as DeepSeek-V3-style block-quantized and other FP8 releases ship them) bit pattern by
// bit pattern, and gpt-oss's MXFP4 experts through transformers' own dequantization.
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/isnan.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/torch_util.h"
#include "automodel/hf/model_config.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
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

// gpt-oss ships its experts as MXFP4 (`<name>_blocks` + `<name>_scales`, quant_method mxfp4):
// every byte pattern and a range of exponents, packed into a tiny gpt-oss checkpoint, load as
// transformers' own dequantization (convert_moe_packed_tensors) gives them.
constexpr const char* kPackMxfp4 = R"PY(
import json, sys, torch
from safetensors.torch import load_file, save_file
from transformers.integrations.mxfp4 import convert_moe_packed_tensors
folder, shapes = sys.argv[1], json.loads(sys.argv[2])
tensors = load_file(folder + "/dense.safetensors")
expected = {}
g = torch.Generator().manual_seed(7)
for name, (experts, cols, rows) in shapes.items():  # our parameter: (E, cols, rows)
    blocks = torch.randint(0, 256, (experts, rows, cols // 32, 16), generator=g, dtype=torch.int32).to(torch.uint8)
    scales = torch.randint(120, 134, (experts, rows, cols // 32), generator=g, dtype=torch.int32).to(torch.uint8)
    tensors[name + "_blocks"], tensors[name + "_scales"] = blocks, scales
    expected[name] = convert_moe_packed_tensors(blocks, scales, dtype=torch.float32)
save_file(tensors, folder + "/model.safetensors")
save_file(expected, folder + "/expected.safetensors")
)PY";

TEST(Mxfp4Load, GptOssExpertsUnpackAsTransformersDequantizesThem) {
  AUTOMODEL_REQUIRE_ORACLE("torch safetensors transformers");
  testing::TempDir tmp;
  auto config = nlohmann::json::parse(models::find_architecture("gpt_oss").tiny_config_json);
  config["intermediate_size"] = 32;  // MXFP4 packs 32 values per exponent along each row
  auto model = models::build_model(hf::model_config_from_json(config, "tiny gpt_oss"), at::kFloat, c10::Device(c10::kCPU));
  models::init_random(*model, 3);
  std::vector<std::pair<std::string, at::Tensor>> dense;
  nlohmann::json shapes = nlohmann::json::object();
  for (auto& [name, tensor] : models::hf_state_dict(*model)) {
    if (name.ends_with("experts.gate_up_proj") || name.ends_with("experts.down_proj"))
      shapes[name] = tensor.sizes().vec();
    else
      dense.emplace_back(name, tensor);
  }
  ASSERT_GE(shapes.size(), 2u);
  models::save_tensors(dense, tmp.path(), ~0ull, "dense");
  config["quantization_config"] = {{"quant_method", "mxfp4"}, {"modules_to_not_convert", {"model.layers.*.self_attn"}}};
  std::ofstream(tmp / "config.json") << config.dump(2);
  std::ofstream(tmp / "pack.py") << kPackMxfp4;
  auto r = testing::run_command("'" + testing::python() + "' " + (tmp / "pack.py").string() + " " + tmp.path().string() +
                                " '" + shapes.dump() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::filesystem::remove(tmp / "dense.safetensors");
  auto expected = hf::SafetensorsCheckpoint::open(tmp / "expected.safetensors");
  std::filesystem::rename(tmp / "expected.safetensors", tmp / "expected.bin");  // not part of the model folder
  auto loaded = models::load_pretrained(tmp.path().string());
  int checked = 0;
  for (const auto& [name, tensor] : models::hf_state_dict(*loaded)) {
    if (!shapes.contains(name)) continue;
    auto want = tensor_from_view(expected.get(name), at::kFloat, c10::Device(c10::kCPU));
    EXPECT_TRUE(tensor.equal(want)) << name;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(shapes.size()));
}

}  // namespace
}  // namespace automodel
