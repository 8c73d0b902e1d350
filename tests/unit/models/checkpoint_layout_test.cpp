// Checkpoints laid out as something other than a bare causal LM: a VLM's language model (either
// transformers layout) loads for text training and exports back with the rest carried unchanged;
// multi-token-prediction layers are skipped; what nothing explains is still "unexpected".
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "automodel/checkpoint/hf_export.h"
#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "test_util.h"

namespace automodel::models {
namespace {
namespace fs = std::filesystem;

// A VLM checkpoint (model_type not registered, a registered text_config) whose tiny Llama
// language model sits where `layout` says, beside a vision tower and a projector.
struct Layout {
  std::string body, lm_head, vision;
};

fs::path write_composite(const fs::path& dir, const Layout& layout, CausalLM& source) {
  fs::create_directories(dir);
  auto text = nlohmann::json::parse(find_architecture("llama").tiny_config_json);
  nlohmann::json config = {{"model_type", "llava_like"}, {"text_config", text}, {"vision_config", {{"hidden_size", 4}}}};
  std::ofstream(dir / "config.json") << config.dump(2);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, tensor] : hf_state_dict(source)) {
    if (name.starts_with("lm_head.")) tensors.emplace_back(layout.lm_head + name.substr(7), tensor);
    else tensors.emplace_back(layout.body + name.substr(5), tensor);  // "model" -> layout.body
  }
  tensors.emplace_back(layout.vision + ".blocks.0.weight", at::arange(12, at::kFloat).view({3, 4}));
  tensors.emplace_back("multi_modal_projector.linear.weight", at::ones({2, 4}));
  save_tensors(tensors, dir, ~0ull, "model");
  return dir;
}

std::unique_ptr<CausalLM> tiny_llama_source() {
  auto source = build_model(hf::parse_model_config(find_architecture("llama").tiny_config_json, "tiny llama"), at::kFloat,
                            c10::Device(c10::kCPU));
  init_random(*source, 5);
  return source;
}

class CompositeCheckpoint : public ::testing::TestWithParam<Layout> {};

TEST_P(CompositeCheckpoint, LoadsItsLanguageModelUnderTheCheckpointsOwnNamesAndSkipsTheRest) {
  auto source = tiny_llama_source();
  testing::TempDir dir;
  write_composite(dir.path(), GetParam(), *source);
  auto model = load_pretrained(dir.path().string());
  ASSERT_TRUE(model->config().composite.has_value());
  EXPECT_EQ(model->config().composite->model_type, "llava_like");
  EXPECT_EQ(model->config().model_type, "llama");
  EXPECT_EQ(model->base_model_prefix(), GetParam().body);
  // Nested modules, so LoRA finds "<body>.layers.0.self_attn.q_proj" by name.
  EXPECT_NE(model->find_module(GetParam().body + ".layers.0.self_attn.q_proj"), nullptr);
  EXPECT_EQ(model->foreign_part(GetParam().vision + ".blocks.0.weight"), GetParam().vision);
  EXPECT_EQ(model->foreign_part("multi_modal_projector.linear.weight"), "multi_modal_projector");
  EXPECT_EQ(model->foreign_part(GetParam().body + ".norm.weight"), "");
  auto ids = at::randint(96, {1, 6}, at::TensorOptions().dtype(at::kLong));
  EXPECT_TRUE(at::equal(model->logits(model->forward({ids}).hidden), source->logits(source->forward({ids}).hidden)));
}

TEST_P(CompositeCheckpoint, ExportCarriesTheVisionTowerUnchangedAndKeepsTheLayout) {
  auto source = tiny_llama_source();
  testing::TempDir dir;
  write_composite(dir.path() / "base", GetParam(), *source);
  auto model = load_pretrained((dir.path() / "base").string());
  checkpoint::HfFolderWriter writer(dir.path() / "base", dir.path() / "out");
  writer.carry_foreign_tensors(*model);
  writer.write(hf_state_dict(*model));
  writer.commit();
  auto base = hf::SafetensorsCheckpoint::open(dir.path() / "base");
  auto out = hf::SafetensorsCheckpoint::open(dir.path() / "out");
  EXPECT_EQ(out.names(), base.names());  // same names: the layout is the base's
  for (const auto& name : {GetParam().vision + ".blocks.0.weight", std::string("multi_modal_projector.linear.weight")})
    EXPECT_TRUE(at::equal(borrow_view(out.get(name)), borrow_view(base.get(name)))) << name;
  auto reloaded = load_pretrained((dir.path() / "out").string());
  auto ids = at::randint(96, {1, 6}, at::TensorOptions().dtype(at::kLong));
  EXPECT_TRUE(at::equal(reloaded->logits(reloaded->forward({ids}).hidden), model->logits(model->forward({ids}).hidden)));
}

INSTANTIATE_TEST_SUITE_P(Layouts, CompositeCheckpoint,
                         ::testing::Values(Layout{"model.language_model", "lm_head", "model.vision_tower"},
                                           Layout{"language_model.model", "language_model.lm_head", "vision_tower"}),
                         [](const auto& info) { return info.index == 0 ? "TransformersV5" : "TransformersV4"; });

TEST(CompositeCheckpointConfig, WrapperTieWordEmbeddingsAppliesAndAnUnknownTextModelIsNamed) {
  auto text = nlohmann::json::parse(find_architecture("llama").tiny_config_json);
  text["tie_word_embeddings"] = false;
  nlohmann::json wrapper = {{"model_type", "llava_like"}, {"tie_word_embeddings", true}, {"text_config", text}};
  auto resolved = language_model_config(hf::model_config_from_json(wrapper, "w/config.json"));
  EXPECT_TRUE(resolved.fields().get_bool("tie_word_embeddings"));
  EXPECT_EQ(resolved.composite->body, "model.language_model");
  EXPECT_EQ(config_vocab_size(hf::model_config_from_json(wrapper, "w/config.json")), text["vocab_size"].get<int64_t>());

  wrapper["text_config"]["model_type"] = "not_a_model";
  auto message = testing::error_message_of<Error>(
      [&] { language_model_config(hf::model_config_from_json(wrapper, "w/config.json")); });
  EXPECT_NE(message.find("llava_like's text_config: model_type 'not_a_model' is not supported"), std::string::npos)
      << message;
  wrapper.erase("text_config");
  message = testing::error_message_of<Error>(
      [&] { language_model_config(hf::model_config_from_json(wrapper, "w/config.json")); });
  EXPECT_NE(message.find("model_type 'llava_like' is not supported"), std::string::npos) << message;
}

// FP8 block-quantized checkpoints: every 2-D projection stored as F8_E4M3 with one scale per
// (5 x 7) block (ragged at the edges) load as fp8 x scale, and exports say what they hold.
TEST(CheckpointLayout, Fp8BlockQuantizedWeightsAreDequantizedOnLoadAndExportedWithoutTheQuantizationConfig) {
  auto source = tiny_llama_source();
  auto config = nlohmann::json::parse(find_architecture("llama").tiny_config_json);
  config["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {5, 7}}, {"fmt", "e4m3"}};
  testing::TempDir dir;
  fs::create_directories(dir / "base");
  std::ofstream(dir / "base" / "config.json") << config.dump(2);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, at::Tensor> expected;
  for (auto& [name, w] : hf_state_dict(*source)) {
    if (!name.ends_with("_proj.weight")) {
      tensors.emplace_back(name, w);
      expected[name] = w;
      continue;
    }
    const int64_t rows = w.size(0), cols = w.size(1), br = (rows + 4) / 5, bc = (cols + 6) / 7;
    auto scale = at::empty({br, bc});
    auto fp8 = at::empty({rows, cols}, at::TensorOptions().dtype(at::kFloat8_e4m3fn));
    auto dequantized = at::empty({rows, cols});
    for (int64_t i = 0; i < br; ++i)
      for (int64_t j = 0; j < bc; ++j) {
        auto block = w.narrow(0, i * 5, std::min<int64_t>(5, rows - i * 5)).narrow(1, j * 7, std::min<int64_t>(7, cols - j * 7));
        auto s = block.abs().max().item<float>() / 448.0f;
        scale[i][j] = s;
        auto q = (block / s).to(at::kFloat8_e4m3fn);
        fp8.narrow(0, i * 5, block.size(0)).narrow(1, j * 7, block.size(1)).copy_(q);
        dequantized.narrow(0, i * 5, block.size(0)).narrow(1, j * 7, block.size(1)).copy_(q.to(at::kFloat) * s);
      }
    tensors.emplace_back(name, fp8);
    tensors.emplace_back(name + "_scale_inv", scale);
    expected[name] = dequantized;
  }
  save_tensors(tensors, dir / "base", ~0ull, "model");
  auto model = load_pretrained((dir / "base").string());
  std::map<std::string, at::Tensor> original(tensors.begin(), tensors.end());
  for (const auto& [name, w] : hf_state_dict(*source)) original[name] = w;
  for (const auto& [name, tensor] : hf_state_dict(*model)) {
    EXPECT_TRUE(at::equal(tensor, expected.at(name))) << name;
    // fp8 rounding moved the projections: the file's scales were applied, not the originals read
    if (name.ends_with("_proj.weight")) EXPECT_FALSE(at::equal(tensor, original.at(name))) << name;
  }
  checkpoint::HfFolderWriter writer(dir / "base", dir / "out");
  writer.write(hf_state_dict(*model));
  writer.commit();
  auto written = nlohmann::json::parse(read_file(dir / "out" / "config.json"));
  EXPECT_FALSE(written.contains("quantization_config"));
  EXPECT_EQ(hf::SafetensorsCheckpoint::open(dir / "out").get("model.layers.0.self_attn.q_proj.weight").entry->dtype,
            hf::DType::F32);

  config["quantization_config"] = {{"quant_method", "bitsandbytes"}};
  std::ofstream(dir / "base" / "config.json") << config.dump(2);
  auto message = testing::error_message_of<NotSupportedError>([&] { load_pretrained((dir / "base").string()); });
  EXPECT_NE(message.find("quant_method 'bitsandbytes'"), std::string::npos) << message;
}

// DeepSeek-V3 checkpoints carry a multi-token-prediction layer after the decoder's layers:
// skipped on load (with a note), while any other unknown tensor is still an error.
TEST(CheckpointLayout, MultiTokenPredictionLayersAreSkippedOtherExtrasAreNot) {
  const auto config = hf::parse_model_config(find_architecture("deepseek_v3").tiny_config_json, "tiny deepseek_v3");
  auto source = build_model(config, at::kFloat, c10::Device(c10::kCPU));
  init_random(*source, 3);
  auto tensors = hf_state_dict(*source);
  const auto L = source->num_layers();
  auto extra = tensors.front().second;
  tensors.emplace_back(fmt::format("model.layers.{}.eh_proj.weight", L), extra);
  testing::TempDir with_mtp;
  save_tensors(tensors, with_mtp.path(), ~0ull, "model");
  auto target = build_model(config, at::kFloat, c10::Device(c10::kCPU));
  load_weights(*target, hf::SafetensorsCheckpoint::open(with_mtp.path()));
  auto ids = at::randint(96, {1, 6}, at::TensorOptions().dtype(at::kLong));
  EXPECT_TRUE(at::equal(target->logits(target->forward({ids}).hidden), source->logits(source->forward({ids}).hidden)));

  tensors.emplace_back(fmt::format("model.layers.{}.eh_proj.weight", L + 1), extra);  // beyond the MTP layers
  testing::TempDir with_more;
  save_tensors(tensors, with_more.path(), ~0ull, "model");
  auto message = testing::error_message_of<Error>(
      [&] { load_weights(*target, hf::SafetensorsCheckpoint::open(with_more.path())); });
  EXPECT_NE(message.find(fmt::format("unexpected tensor(s) not used by the deepseek_v3 model: model.layers.{}.", L + 1)),
            std::string::npos) << message;
}

// Nemotron-H as the hub ships it (NVIDIA's code: backbone.*, one up/down_proj per expert) and as
// transformers 5 saves it (model.*, stacked experts): both load to the same model and export in
// the layout they came in.
TEST(CheckpointLayout, NemotronHLoadsTheHubsBackboneAndPerExpertLayoutAndWritesItBack) {
  const auto config_json = find_architecture("nemotron_h").tiny_config_json;
  auto source = build_model(hf::parse_model_config(config_json, "tiny nemotron_h"), at::kFloat, c10::Device(c10::kCPU));
  init_random(*source, 9);
  std::vector<std::pair<std::string, at::Tensor>> hub;
  int split = 0;
  for (auto& [name, tensor] : hf_state_dict(*source)) {
    auto renamed = name.starts_with("model.") ? "backbone." + name.substr(6) : name;
    if (renamed.ends_with(".experts.up_proj") || renamed.ends_with(".experts.down_proj")) {
      const auto dot = renamed.rfind('.');
      for (int64_t e = 0; e < tensor.size(0); ++e)
        hub.emplace_back(fmt::format("{}.{}{}.weight", renamed.substr(0, dot), e, renamed.substr(dot)), tensor[e].clone());
      ++split;
    } else {
      hub.emplace_back(renamed, tensor);
    }
  }
  EXPECT_EQ(split, 2);  // the one MoE layer's stacked up and down projections
  testing::TempDir dir;
  fs::create_directories(dir / "hub");
  std::ofstream(dir / "hub" / "config.json") << config_json;
  save_tensors(hub, dir / "hub", ~0ull, "model");
  auto model = load_pretrained((dir / "hub").string());
  EXPECT_EQ(model->base_model_prefix(), "backbone");
  auto ids = at::randint(96, {2, 7}, at::TensorOptions().dtype(at::kLong));
  EXPECT_TRUE(at::allclose(model->logits(model->forward({ids}).hidden), source->logits(source->forward({ids}).hidden),
                           1e-6, 1e-7));
  std::set<std::string> written;
  for (const auto& [name, _] : hf_state_dict(*model)) written.insert(name);
  std::set<std::string> shipped;
  for (const auto& [name, _] : hub) shipped.insert(name);
  EXPECT_EQ(written, shipped);
}

// The hub's Nemotron-H config.json (NVIDIA's code): the block pattern string, mamba_-prefixed key
// names and Python's bare Infinity build the same model as transformers 5's keys.
TEST(CheckpointLayout, NemotronHHubConfigKeysBuildTheSameModel) {
  auto v5 = nlohmann::json::parse(find_architecture("nemotron_h").tiny_config_json);
  auto hub = v5;
  hub.erase("layers_block_type");
  hub["hybrid_override_pattern"] = "ME*-M";
  for (const auto& [key, legacy] : std::vector<std::pair<std::string, std::string>>{
           {"n_groups", "mamba_n_groups"}, {"conv_kernel", "mamba_d_conv"}, {"chunk_size", "mamba_chunk_size"}}) {
    hub[legacy] = hub[key];
    hub.erase(key);
  }
  auto text = hub.dump();
  text.insert(text.size() - 1, R"(, "time_step_limit": [0.0, Infinity])");
  auto shapes = [](const hf::ModelConfig& config) {
    std::map<std::string, std::vector<int64_t>> out;
    auto model = build_model(config, at::kFloat, c10::Device(c10::kMeta));
    for (const auto& p : model->named_parameters()) out[p.name] = p.tensor->sizes().vec();
    return out;
  };
  EXPECT_EQ(shapes(hf::parse_model_config(text, "hub nemotron_h")),
            shapes(hf::parse_model_config(v5.dump(), "v5 nemotron_h")));
}

}  // namespace
}  // namespace automodel::models
