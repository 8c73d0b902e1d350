#include "automodel/models/common/weights.h"

#include <ATen/Context.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/ldexp.h>
#include <ATen/ops/repeat_interleave.h>
#include <ATen/ops/stack.h>

#include <sys/mman.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "automodel/common/error.h"
#include "automodel/common/logging.h"
#include "automodel/common/string_util.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/safetensors_writer.h"
#include "automodel/models/common/layers.h"

namespace automodel::models {
namespace {

bool is_ignorable_buffer(const CausalLM& model, const std::string& name) {
  for (const auto& suffix : model.ignored_checkpoint_suffixes())
    if (name.ends_with(suffix)) return true;
  return false;
}

// One anonymous mapping for all CPU parameters, backed by transparent huge pages where the
// kernel allows: first-touch page faults drop ~512x (they dominated fresh-process load time).
at::Tensor allocate_parameter_arena(size_t bytes) {
  void* ptr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  AM_CHECK(ptr != MAP_FAILED, "[load] cannot allocate {} for parameters: {}", human_bytes(static_cast<double>(bytes)),
           std::strerror(errno));
  ::madvise(ptr, bytes, MADV_HUGEPAGE);
  return at::from_blob(ptr, {static_cast<int64_t>(bytes)}, [bytes](void* p) { ::munmap(p, bytes); },
                       at::TensorOptions().dtype(at::kByte));
}

std::string list_some(const std::vector<std::string>& names) {
  std::vector<std::string> head(names.begin(), names.begin() + std::min<size_t>(names.size(), 8));
  return join(head, ", ") + (names.size() > 8 ? fmt::format(" ... ({} in all)", names.size()) : "");
}

// The weight an FP8 block-quantized tensor stands for: fp8 x the scale of its (rows x cols) block.
at::Tensor dequantize_fp8_blocks(const at::Tensor& fp8, const at::Tensor& scale_inv, std::pair<int64_t, int64_t> block) {
  const int64_t rows = fp8.size(0), cols = fp8.size(1);
  auto scale = scale_inv.to(at::kFloat)
                   .repeat_interleave(block.first, 0)
                   .repeat_interleave(block.second, 1)
                   .narrow(0, 0, rows)
                   .narrow(1, 0, cols);
  return fp8.to(at::kFloat) * scale;
}

// MXFP4 packed experts -> (E, cols, rows) fp32: each byte holds two e2m1 values (low nibble at the
// even index), each group of 32 values shares the exponent scale - 127.
at::Tensor dequantize_mxfp4(const at::Tensor& blocks, const at::Tensor& scales) {
  static const float kValues[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                                    -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
  auto table = at::from_blob(const_cast<float*>(kValues), {16}, at::TensorOptions().dtype(at::kFloat)).to(blocks.device());
  auto bytes = blocks.to(at::kLong);                                       // (E, R, G, 16)
  auto pairs = at::stack({bytes.bitwise_and(0x0F), bytes.bitwise_right_shift(4)}, -1);  // (E, R, G, 16, 2)
  auto values = table.index_select(0, pairs.reshape({-1})).view(pairs.sizes()).flatten(-2);  // (E, R, G, 32)
  auto exponents = (scales.to(at::kInt) - 127).unsqueeze(-1);             // (E, R, G, 1)
  auto out = at::ldexp(values, exponents);
  return out.flatten(-2).transpose(1, 2).contiguous();                      // (E, R, G*32) -> (E, cols, rows)
}

}  // namespace

CheckpointQuantization checkpoint_quantization(const hf::ModelConfig& config) {
  CheckpointQuantization out;
  auto fields = config.fields();
  if (!fields.has("quantization_config")) return out;
  auto q = fields.child("quantization_config");
  const auto method = q.get_string("quant_method", "");
  if (method == "mxfp4") {
    out.kind = CheckpointQuantization::Kind::kMxfp4;
    return out;
  }
  if (method != "fp8" || !q.has("weight_block_size"))
    throw NotSupportedError(fmt::format(
        "[model] {}: quantization_config with quant_method '{}'{} is not supported; FP8 block-quantized (fp8 with "
        "weight_block_size) and MXFP4 (mxfp4) checkpoints are dequantized on load", config.label, method,
        method == "fp8" ? " without weight_block_size" : ""));
  const auto& sizes = q.raw("weight_block_size");
  AM_CHECK(sizes.is_array() && sizes.size() == 2 && sizes[0].is_number_integer() && sizes[1].is_number_integer() &&
               sizes[0].get<int64_t>() > 0 && sizes[1].get<int64_t>() > 0,
           "[config] {}: expected two positive integers [rows, cols], found {}", q.where("weight_block_size"),
           sizes.dump());
  out.kind = CheckpointQuantization::Kind::kFp8Blocks;
  out.fp8_block = {sizes[0].get<int64_t>(), sizes[1].get<int64_t>()};
  return out;
}

void load_weights(CausalLM& model, const hf::SafetensorsCheckpoint& checkpoint, bool borrow) {
  at::NoGradGuard no_grad;
  const std::string prefix = model.base_model_prefix() + ".";
  std::set<std::string> used;
  std::vector<std::string> missing;
  auto params = model.named_parameters();
  double total_bytes = 0;
  for (const auto& p : params) total_bytes += static_cast<double>(p.tensor->nbytes());
  // Copied CPU parameters live in one arena (64-byte aligned slices).
  constexpr size_t kAlign = 64;
  size_t arena_bytes = 0;
  for (const auto& p : params)
    if (p.tensor->device().is_cpu()) arena_bytes += (p.tensor->nbytes() + kAlign - 1) / kAlign * kAlign;
  at::Tensor arena = arena_bytes ? allocate_parameter_arena(arena_bytes) : at::Tensor();
  size_t arena_offset = 0;
  auto place_in_arena = [&](at::Tensor& param) {
    auto bytes = static_cast<int64_t>(param.nbytes());
    auto slice = arena.narrow(0, static_cast<int64_t>(arena_offset), bytes).view(param.scalar_type()).view(param.sizes());
    arena_offset += (param.nbytes() + kAlign - 1) / kAlign * kAlign;
    param = slice;
  };
  const auto quantization = checkpoint_quantization(model.config());
  int64_t dequantized = 0;
  Progress progress("loading weights", total_bytes, "B");
  auto store_dequantized = [&](at::Tensor& param, const at::Tensor& value, std::initializer_list<std::string> keys) {
    if (param.device().is_cpu()) place_in_arena(param);
    param.copy_(value);
    used.insert(keys.begin(), keys.end());
    ++dequantized;
    progress.advance(static_cast<double>(param.nbytes()));
  };
  for (const auto& p : params) {
    std::string key = p.name;
    // Base-model checkpoints (e.g. the original gpt2) omit the "transformer."/"model." prefix.
    if (!checkpoint.contains(key) && key.starts_with(prefix) && checkpoint.contains(key.substr(prefix.size())))
      key = key.substr(prefix.size());
    // A tied embedding saved only under its alias (e.g. just "lm_head.weight") loads from there.
    if (!checkpoint.contains(key) && p.tensor->is_same(model.output_embedding()))
      for (const auto& alias : model.tied_aliases())
        if (checkpoint.contains(alias)) key = alias;
    if (const auto blocks = key + "_blocks", scales = key + "_scales";
        quantization.kind == CheckpointQuantization::Kind::kMxfp4 && !checkpoint.contains(key) &&
        checkpoint.contains(blocks) && checkpoint.contains(scales)) {
      auto packed = borrow_view(checkpoint.get(blocks));
      auto exponents = borrow_view(checkpoint.get(scales));
      AM_CHECK(packed.dim() == 4 && packed.size(-1) == 16 && exponents.sizes() == packed.sizes().slice(0, 3) &&
                   p.tensor->dim() == 3 && p.tensor->size(0) == packed.size(0) &&
                   p.tensor->size(1) == packed.size(2) * 32 && p.tensor->size(2) == packed.size(1),
               "[load] {}: MXFP4 '{}' {} with scales {} does not unpack to the model's {} {}", checkpoint.source().string(),
               blocks, format_shape(packed.sizes().vec()), format_shape(exponents.sizes().vec()), p.name,
               format_shape(p.tensor->sizes().vec()));
      store_dequantized(*p.tensor, dequantize_mxfp4(packed, exponents), {blocks, scales});
      continue;
    }
    if (!checkpoint.contains(key)) {
      missing.push_back(p.name);
      continue;
    }
    auto view = checkpoint.get(key);
    AM_CHECK(view.entry->shape == p.tensor->sizes().vec(),
             "[load] {}: tensor '{}' has shape {}, the model ({}) expects {}", view.file->string(), key,
             format_shape(view.entry->shape), model.config().model_type, format_shape(p.tensor->sizes().vec()));
    if (const auto scale_key = key + "_scale_inv";
        quantization.kind == CheckpointQuantization::Kind::kFp8Blocks && checkpoint.contains(scale_key)) {
      AM_CHECK(view.entry->dtype == hf::DType::F8_E4M3 && p.tensor->dim() == 2,
               "[load] {}: '{}' has a block scale '{}' but is not a 2-D F8_E4M3 weight", view.file->string(), key,
               scale_key);
      store_dequantized(*p.tensor,
                        dequantize_fp8_blocks(borrow_view(view), borrow_view(checkpoint.get(scale_key)),
                                              quantization.fp8_block),
                        {key, scale_key});
      continue;
    }
    bool same_type = view.entry->dtype != hf::DType::F8_E4M3 && view.entry->dtype != hf::DType::F8_E5M2 &&
                     to_scalar_type(view.entry->dtype) == p.tensor->scalar_type();
    if (borrow && same_type && p.tensor->device().is_cpu()) {
      *p.tensor = borrow_view(view);
    } else {
      if (p.tensor->device().is_cpu()) place_in_arena(*p.tensor);
      copy_view_into(view, *p.tensor);
    }
    used.insert(key);
    progress.advance(static_cast<double>(p.tensor->nbytes()));
  }
  progress.finish();
  if (dequantized > 0)
    log_info("[load] dequantized {} {} weight(s) to {}", dequantized,
             quantization.kind == CheckpointQuantization::Kind::kMxfp4
                 ? std::string("MXFP4")
                 : fmt::format("FP8 block-quantized ({}x{} blocks)", quantization.fp8_block.first,
                               quantization.fp8_block.second),
             scalar_type_name(params.front().tensor->scalar_type()));
  auto aliases = model.tied_aliases();
  std::vector<std::string> unexpected;
  std::map<std::string, int64_t> skipped;  // foreign part -> tensors
  for (const auto& name : checkpoint.names()) {
    if (used.count(name) || is_ignorable_buffer(model, name)) continue;
    if (std::find(aliases.begin(), aliases.end(), name) != aliases.end()) continue;
    if (auto part = model.foreign_part(name); !part.empty()) {
      ++skipped[part];
      continue;
    }
    unexpected.push_back(name);
  }
  for (const auto& [part, count] : skipped)
    log_info("[load] skipped {} tensor(s) under '{}' (not part of the {} model trained here; exports carry them "
             "unchanged)", count, part, model.config().model_type);
  AM_CHECK(missing.empty(), "[load] {}: {} tensor(s) the {} model needs are missing: {}", checkpoint.source().string(),
           missing.size(), model.config().model_type, list_some(missing));
  AM_CHECK(unexpected.empty(), "[load] {}: {} unexpected tensor(s) not used by the {} model: {}",
           checkpoint.source().string(), unexpected.size(), model.config().model_type, list_some(unexpected));
}

std::vector<std::pair<std::string, at::Tensor>> hf_state_dict(const CausalLM& model,
                                                               const std::function<bool(const std::string&)>& include) {
  NamedTensors out;
  model.export_parameters("", include, out);
  return out;
}

namespace {

// Contiguous CPU copies (kept alive in `keep`) described for the safetensors writer.
std::vector<hf::TensorToWrite> to_write(const std::vector<std::pair<std::string, at::Tensor>>& named,
                                        std::vector<at::Tensor>& keep) {
  std::vector<hf::TensorToWrite> tensors;
  for (const auto& [name, tensor] : named) {
    auto t = tensor.detach().to(c10::Device(c10::kCPU)).contiguous();
    keep.push_back(t);
    tensors.push_back({name, to_hf_dtype(t.scalar_type()), t.sizes().vec(), t.data_ptr(), t.nbytes()});
  }
  return tensors;
}

}  // namespace

std::vector<std::filesystem::path> save_tensors(const std::vector<std::pair<std::string, at::Tensor>>& named,
                                                const std::filesystem::path& dir, uint64_t max_shard_bytes,
                                                const std::string& prefix) {
  std::vector<at::Tensor> keep;
  return hf::write_sharded_safetensors(dir, to_write(named, keep), max_shard_bytes, prefix);
}

void write_tensors_shard(hf::ShardedSafetensorsWriter& writer,
                         const std::vector<std::pair<std::string, at::Tensor>>& named) {
  std::vector<at::Tensor> keep;
  writer.write_shard(to_write(named, keep));
}

std::vector<std::filesystem::path> save_weights(const CausalLM& model, const std::filesystem::path& dir,
                                                uint64_t max_shard_bytes) {
  return save_tensors(hf_state_dict(model), dir, max_shard_bytes, "model");
}

void init_random(Module& model, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  std::set<std::string> offset_norm_weights;  // (1 + w) norms: near-identity means w near 0
  for (const auto& [name, module] : model.named_modules())
    if (auto* norm = dynamic_cast<const Norm*>(module); norm && norm->unit_offset())
      offset_norm_weights.insert(name + ".weight");
  for (const auto& p : model.named_parameters()) {
    auto& t = *p.tensor;
    auto noise = at::randn(t.sizes(), t.options().dtype(at::kFloat));
    if (p.name.ends_with(".A_log")) {
      // Gated DeltaNet's log decay rate: a trained model's modest decay. Around 1 (as for a norm),
      // the state decays by ~e^-3.5 per token and exp(cumulative decay) underflows fp32 within a chunk.
      t.copy_(-2.0 + noise * 0.1);
    } else if (t.dim() == 1) {
      const bool around_zero = p.name.ends_with(".bias") || offset_norm_weights.count(p.name);
      t.copy_(around_zero ? noise * 0.1 : 1.0 + noise * 0.1);
    } else {
      t.copy_(noise / std::sqrt(static_cast<double>(t.size(t.dim() - 1))));
    }
  }
}

}  // namespace automodel::models
