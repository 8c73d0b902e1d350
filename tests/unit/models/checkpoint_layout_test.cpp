// An architecture whose checkpoints come in another layout declares prefix renames, and its
// weights load from either layout by name; what it does not use is still "unexpected".
#include <gtest/gtest.h>

#include <ATen/ops/equal.h>
#include <ATen/ops/randint.h>
#include <fmt/format.h>

#include "automodel/common/error.h"
#include "automodel/hf/safetensors.h"
#include "automodel/models/common/decoder_lm.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "test_util.h"

namespace automodel::models {
namespace {

// A Llama body whose v4-style checkpoints saved it as "language_model.model.*".
class RenamedLlama : public DecoderLM {
 public:
  using DecoderLM::DecoderLM;
  std::vector<std::pair<std::string, std::string>> checkpoint_prefix_renames() const override {
    return {{"model.", "language_model.model."}, {"lm_head.", "language_model.lm_head."}};
  }
};

TEST(CheckpointLayout, PrefixRenamesLoadACheckpointOfAnotherLayoutByName) {
  const auto config = hf::parse_model_config(find_architecture("llama").tiny_config_json, "tiny llama");
  auto source = build_model(config, at::kFloat, c10::Device(c10::kCPU));
  init_random(*source, 5);
  std::vector<std::pair<std::string, at::Tensor>> renamed;
  for (auto& [name, tensor] : hf_state_dict(*source)) renamed.emplace_back("language_model." + name, tensor);
  testing::TempDir dir;
  save_tensors(renamed, dir.path(), ~0ull, "model");

  const auto opts = at::TensorOptions().dtype(at::kFloat);
  RenamedLlama target(config, read_decoder_spec(config.fields()), opts);
  load_weights(target, hf::SafetensorsCheckpoint::open(dir.path()));
  auto ids = at::randint(96, {1, 6}, at::TensorOptions().dtype(at::kLong));
  EXPECT_TRUE(at::equal(target.logits(target.forward({ids}).hidden), source->logits(source->forward({ids}).hidden)));

  // Without the renames the same file is all unexpected names.
  DecoderLM plain(config, read_decoder_spec(config.fields()), opts);
  auto message = testing::error_message_of<Error>([&] { load_weights(plain, hf::SafetensorsCheckpoint::open(dir.path())); });
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
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

}  // namespace
}  // namespace automodel::models
