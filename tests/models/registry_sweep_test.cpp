// Every registered architecture, automatically: tiny random config -> forward/backward ->
// save -> reload -> identical logits; KV-cache decoding and packed documents agree with plain
// forwards; strict loading rejects missing, unexpected and mis-shaped tensors.
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/error.h"
#include "automodel/hf/safetensors.h"
#include "automodel/hf/safetensors_writer.h"
#include "automodel/models/common/checkpoint.h"
#include "automodel/models/common/loss.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"
#include "test_util.h"

namespace automodel::models {
namespace {

using automodel::testing::TempDir;

class RegistrySweep : public ::testing::TestWithParam<std::string> {
 protected:
  const Architecture& arch() const { return find_architecture(GetParam()); }
  hf::ModelConfig tiny_config() const {
    return hf::parse_model_config(arch().tiny_config_json, GetParam() + " tiny config");
  }
  std::unique_ptr<CausalLM> tiny_model(uint64_t seed = 7) const {
    auto model = build_model(tiny_config(), at::kFloat, c10::Device(c10::kCPU));
    init_random(*model, seed);
    return model;
  }
  // Saves weights + config.json so the folder loads like an HF model folder.
  void save_folder(const CausalLM& model, const std::filesystem::path& dir) const {
    save_weights(model, dir);
    write_file_atomic(dir / "config.json", tiny_config().dump());
  }
  at::Tensor random_ids(int64_t B, int64_t T, int64_t vocab) const {
    return at::randint(vocab, {B, T}, at::TensorOptions().dtype(at::kLong));
  }
};

TEST_P(RegistrySweep, ForwardBackwardGivesFiniteLossAndGradientsForEveryParameter) {
  auto model = tiny_model();
  for (const auto& p : model->named_parameters()) p.tensor->set_requires_grad(p.trainable);
  auto ids = random_ids(2, 12, model->vocab_size());
  auto out = model->forward({ids});
  auto logits = model->logits(out.hidden);
  EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{2, 12, model->vocab_size()}));
  auto loss = causal_lm_loss(logits, ids);
  ASSERT_TRUE(std::isfinite(loss.item<double>()));
  // A random model predicts roughly uniformly: loss near log(vocab).
  EXPECT_NEAR(loss.item<double>(), std::log(static_cast<double>(model->vocab_size())), 2.5);
  loss.backward();
  for (const auto& p : model->named_parameters()) {
    if (!p.trainable) continue;  // buffers (e.g. routers' correction biases)
    const bool routed_expert = p.name.find(".experts.") != std::string::npos;  // may receive no tokens
    if (routed_expert && !p.tensor->grad().defined()) continue;
    ASSERT_TRUE(p.tensor->grad().defined()) << p.name;
    EXPECT_TRUE(p.tensor->grad().isfinite().all().item<bool>()) << p.name;
    if (!routed_expert) EXPECT_GT(p.tensor->grad().abs().sum().item<double>(), 0.0) << p.name;
  }
}

// The layer as FSDP and activation checkpointing run it (a function of its inputs, recomputed in
// backward, or its graph kept behind a custom node) gives the plain forward's gradients: what
// layers hand each other (router logits, per-layer inputs, shared keys/values) reaches backward
// through the layer's inputs and outputs, once.
TEST_P(RegistrySweep, RecomputedAndWrappedLayersGiveThePlainGradients) {
  auto grads_of = [this](const std::string& how) {
    auto model = tiny_model();
    for (const auto& p : model->named_parameters()) p.tensor->set_requires_grad(p.trainable);
    model->set_activation_checkpointing(how == "recomputed");
    if (how == "wrapped")
      model->set_layer_runner([](int64_t, const Block& block, const std::vector<at::Tensor>& inputs) {
        return with_after_backward(block, inputs, {});
      });
    at::manual_seed(5);
    auto ids = random_ids(2, 10, model->vocab_size());
    causal_lm_loss(model->logits(model->forward({ids}).hidden), ids).backward();
    std::vector<std::pair<std::string, at::Tensor>> grads;
    for (const auto& p : model->named_parameters())
      if (p.trainable) grads.emplace_back(p.name, p.tensor->grad());
    return grads;
  };
  auto plain = grads_of("plain");
  for (const std::string how : {"recomputed", "wrapped"}) {
    auto other = grads_of(how);
    ASSERT_EQ(plain.size(), other.size());
    for (size_t i = 0; i < plain.size(); ++i) {
      const auto& [name, g] = plain[i];
      ASSERT_EQ(g.defined(), other[i].second.defined()) << how << ": " << name;
      if (g.defined()) EXPECT_TRUE(at::allclose(other[i].second, g, 1e-5, 1e-7)) << how << ": " << name;
    }
  }
}

TEST_P(RegistrySweep, SaveThenReloadGivesIdenticalLogits) {
  TempDir dir;
  auto model = tiny_model();
  save_folder(*model, dir.path());
  auto reloaded = load_pretrained(dir.path().string());
  auto ids = random_ids(2, 9, model->vocab_size());
  auto a = model->logits(model->forward({ids}).hidden);
  auto b = reloaded->logits(reloaded->forward({ids}).hidden);
  EXPECT_TRUE(at::equal(a, b));
}

TEST_P(RegistrySweep, ZeroCopyLoadMatchesCopiedLoadWithoutOwningMemory) {
  TempDir dir;
  auto model = tiny_model();
  save_folder(*model, dir.path());
  auto copied = load_pretrained(dir.path().string());
  auto borrowed = load_pretrained(dir.path().string(), {at::kFloat, c10::Device(c10::kCPU), /*read_only_weights=*/true});
  auto ids = random_ids(1, 6, model->vocab_size());
  // The same weights, bit for bit ...
  auto copied_params = copied->named_parameters(), borrowed_params = borrowed->named_parameters();
  ASSERT_EQ(copied_params.size(), borrowed_params.size());
  for (size_t i = 0; i < copied_params.size(); ++i)
    EXPECT_TRUE(at::equal(*copied_params[i].tensor, *borrowed_params[i].tensor)) << copied_params[i].name;
  // ... and the same logits up to rounding: a GEMM may take another kernel path (summation order)
  // for weights at the unaligned offsets of a mapped file than for freshly allocated ones.
  EXPECT_TRUE(at::allclose(copied->logits(copied->forward({ids}).hidden), borrowed->logits(borrowed->forward({ids}).hidden),
                           1e-5, 1e-6));
  // Borrowed parameters lie inside the mapping of model.safetensors (from /proc/self/maps).
  auto file = std::filesystem::canonical(dir / "model.safetensors").string();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  while (std::getline(maps, line))
    if (line.size() >= file.size() && line.compare(line.size() - file.size(), file.size(), file) == 0)
      ranges.emplace_back(std::stoull(line.substr(0, line.find('-')), nullptr, 16),
                          std::stoull(line.substr(line.find('-') + 1), nullptr, 16));
  ASSERT_FALSE(ranges.empty()) << "model.safetensors is not mapped";
  auto inside = [&](const at::Tensor& t) {
    auto p = reinterpret_cast<uintptr_t>(t.data_ptr());
    for (auto [b, e] : ranges)
      if (p >= b && p + t.nbytes() <= e) return true;
    return false;
  };
  for (const auto& p : borrowed->named_parameters()) EXPECT_TRUE(inside(*p.tensor)) << p.name;
  for (const auto& p : copied->named_parameters()) EXPECT_FALSE(inside(*p.tensor)) << p.name;
}

TEST_P(RegistrySweep, KvCacheDecodingMatchesFullForward) {
  auto model = tiny_model();
  auto ids = random_ids(1, 10, model->vocab_size());
  auto full = model->logits(model->forward({ids}).hidden);  // (1, 10, V)
  KVCache cache;
  ForwardOptions options;
  options.cache = &cache;
  std::vector<at::Tensor> steps = {model->logits(model->forward({ids.narrow(1, 0, 4)}, options).hidden)};
  for (int64_t t = 4; t < 10; ++t) steps.push_back(model->logits(model->forward({ids.narrow(1, t, 1)}, options).hidden));
  auto incremental = at::cat(steps, 1);
  EXPECT_TRUE(at::allclose(incremental, full, 1e-4, 1e-5)) << (incremental - full).abs().max().item<double>();
}

TEST_P(RegistrySweep, PackedDocumentsMatchSeparateForwards) {
  auto model = tiny_model();
  auto a = random_ids(1, 5, model->vocab_size()), b = random_ids(1, 7, model->vocab_size());
  auto la = model->logits(model->forward({a}).hidden), lb = model->logits(model->forward({b}).hidden);
  ModelInputs packed;
  packed.input_ids = at::cat({a, b}, 1);
  std::vector<int64_t> pos, doc;
  for (int64_t i = 0; i < 5; ++i) pos.push_back(i), doc.push_back(0);
  for (int64_t i = 0; i < 7; ++i) pos.push_back(i), doc.push_back(1);
  packed.position_ids = at::tensor(pos).view({1, -1});
  packed.document_ids = at::tensor(doc).view({1, -1});
  auto lp = model->logits(model->forward(packed).hidden);
  EXPECT_TRUE(at::allclose(lp.narrow(1, 0, 5), la, 1e-4, 1e-5));
  EXPECT_TRUE(at::allclose(lp.narrow(1, 5, 7), lb, 1e-4, 1e-5));
}

TEST_P(RegistrySweep, Bf16ForwardStaysCloseToFp32) {
  auto model = tiny_model();
  TempDir dir;
  save_folder(*model, dir.path());
  auto bf16 = load_pretrained(dir.path().string(), {at::kBFloat16, c10::Device(c10::kCPU)});
  EXPECT_EQ(bf16->output_embedding().scalar_type(), at::kBFloat16);
  auto ids = random_ids(1, 8, model->vocab_size());
  auto a = model->logits(model->forward({ids}).hidden);
  auto b = bf16->logits(bf16->forward({ids}).hidden).to(at::kFloat);
  // Relative L2 error: robust to the occasional MoE routing flip that bf16 rounding causes.
  EXPECT_LT((a - b).norm().item<double>() / a.norm().item<double>(), 0.05);
}

TEST_P(RegistrySweep, TiedEmbeddingSavedOnlyAsLmHeadLoads) {
  auto model = tiny_model();
  auto aliases = model->tied_aliases();
  if (aliases.empty()) GTEST_SKIP() << "tiny config does not tie embeddings";
  TempDir dir;
  std::vector<hf::TensorToWrite> tensors;
  std::vector<at::Tensor> keep;
  for (const auto& p : model->named_parameters()) {
    auto t = p.tensor->contiguous();
    keep.push_back(t);
    bool is_embedding = p.tensor->is_same(model->output_embedding());
    tensors.push_back({is_embedding ? aliases[0] : p.name, hf::DType::F32, t.sizes().vec(), t.data_ptr(), t.nbytes()});
  }
  hf::write_safetensors(dir / "model.safetensors", tensors);
  write_file_atomic(dir / "config.json", tiny_config().dump());
  auto reloaded = load_pretrained(dir.path().string());
  auto ids = random_ids(1, 5, model->vocab_size());
  EXPECT_TRUE(at::equal(model->logits(model->forward({ids}).hidden), reloaded->logits(reloaded->forward({ids}).hidden)));
}

std::string load_error(const std::filesystem::path& dir) {
  try {
    load_pretrained(dir.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST_P(RegistrySweep, StrictLoadingNamesMissingUnexpectedAndMisshapedTensors) {
  auto model = tiny_model();
  auto params = model->named_parameters();
  std::vector<at::Tensor> keep;
  auto write_with = [&](const std::filesystem::path& dir, const std::string& drop, const std::string& extra,
                        const std::string& reshape) {
    std::vector<hf::TensorToWrite> tensors;
    for (const auto& p : params) {
      if (p.name == drop) continue;
      auto t = p.tensor->contiguous();
      if (p.name == reshape) t = t.reshape({-1});
      keep.push_back(t);
      tensors.push_back({p.name, hf::DType::F32, t.sizes().vec(), t.data_ptr(), t.nbytes()});
    }
    if (!extra.empty()) tensors.push_back({extra, hf::DType::F32, {1}, keep.back().data_ptr(), 4});
    hf::write_safetensors(dir / "model.safetensors", tensors);
    write_file_atomic(dir / "config.json", tiny_config().dump());
  };
  // A matrix (reshaping a vector to 1-D would change nothing), not the first tensor.
  std::string victim;
  for (size_t i = 1; i < params.size() && victim.empty(); ++i)
    if (params[i].tensor->dim() >= 2) victim = params[i].name;
  ASSERT_FALSE(victim.empty());
  TempDir missing, unexpected, misshaped;
  write_with(missing.path(), victim, "", "");
  write_with(unexpected.path(), "", "model.extra_tensor.weight", "");
  write_with(misshaped.path(), "", "", victim);
  auto m = load_error(missing.path());
  EXPECT_NE(m.find("missing: " + victim), std::string::npos) << m;
  auto u = load_error(unexpected.path());
  EXPECT_NE(u.find("unexpected tensor(s) not used by the " + GetParam() + " model: model.extra_tensor.weight"),
            std::string::npos) << u;
  auto s = load_error(misshaped.path());
  EXPECT_NE(s.find("'" + victim + "' has shape ["), std::string::npos) << s;
  EXPECT_NE(s.find("expects ["), std::string::npos) << s;
}

TEST(ModelsDoc, CommittedReferenceMatchesTheRegistry) {
  const auto path = testing::source_dir() / "docs" / "models.md";
  const auto generated = models_markdown();
  if (const char* update = std::getenv("AUTOMODEL_UPDATE_DOCS"); update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << generated;
    GTEST_SKIP() << "wrote " << path;
  }
  ASSERT_TRUE(std::filesystem::is_regular_file(path)) << path;
  EXPECT_TRUE(read_file(path) == generated)
      << path.string() << " is out of date with the registry. Regenerate it with\n"
      << "  AUTOMODEL_UPDATE_DOCS=1 build/tests/registry_sweep_tests --gtest_filter='ModelsDoc.*'";
}

TEST(ModelsDoc, EveryArchitectureSaysWhatSetsItApart) {
  for (const auto& arch : architectures()) {
    EXPECT_FALSE(arch.features.empty()) << arch.model_type;
    EXPECT_TRUE(arch.hf_class.ends_with("ForCausalLM") || arch.hf_class.ends_with("LMHeadModel")) << arch.hf_class;
  }
}

std::vector<std::string> registered_types() {
  std::vector<std::string> out;
  for (const auto& a : architectures()) out.push_back(a.model_type);
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllArchitectures, RegistrySweep, ::testing::ValuesIn(registered_types()),
                         [](const auto& info) { return info.param; });

TEST(Registry, UnknownModelTypeListsSupportedAndSuggestsNearest) {
  try {
    find_architecture("lama", "x/config.json");
    FAIL();
  } catch (const NotSupportedError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("x/config.json: model_type 'lama' is not supported (did you mean 'llama'?)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mixtral"), std::string::npos) << msg;
  }
}

TEST(Registry, QuantizedCheckpointIsRejectedClearly) {
  auto config = hf::parse_model_config(R"({"model_type":"llama","quantization_config":{"quant_method":"gptq"}})", "q/config.json");
  try {
    build_model(config, at::kFloat, c10::Device(c10::kCPU));
    FAIL();
  } catch (const NotSupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("quantization_config"), std::string::npos);
  }
}

TEST(Registry, InconsistentHeadCountsAreAConfigError) {
  auto config = hf::parse_model_config(R"({"model_type":"llama","vocab_size":8,"hidden_size":12,"intermediate_size":8,
      "num_hidden_layers":1,"num_attention_heads":3,"num_key_value_heads":2})", "h/config.json");
  try {
    build_model(config, at::kFloat, c10::Device(c10::kCPU));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of num_key_value_heads (2)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace automodel::models
