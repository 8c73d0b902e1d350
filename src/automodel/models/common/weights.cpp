#include "automodel/models/common/weights.h"

#include <ATen/Context.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/randn.h>

#include <sys/mman.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

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

}  // namespace

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
  Progress progress("loading weights", total_bytes, "B");
  for (const auto& p : params) {
    std::string key = p.name;
    // Base-model checkpoints (e.g. the original gpt2) omit the "transformer."/"model." prefix.
    if (!checkpoint.contains(key) && key.starts_with(prefix) && checkpoint.contains(key.substr(prefix.size())))
      key = key.substr(prefix.size());
    // A tied embedding saved only under its alias (e.g. just "lm_head.weight") loads from there.
    if (!checkpoint.contains(key) && p.tensor->is_same(model.output_embedding()))
      for (const auto& alias : model.tied_aliases())
        if (checkpoint.contains(alias)) key = alias;
    if (!checkpoint.contains(key)) {
      missing.push_back(p.name);
      continue;
    }
    auto view = checkpoint.get(key);
    AM_CHECK(view.entry->shape == p.tensor->sizes().vec(),
             "[load] {}: tensor '{}' has shape {}, the model ({}) expects {}", view.file->string(), key,
             format_shape(view.entry->shape), model.config().model_type, format_shape(p.tensor->sizes().vec()));
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

void init_random(CausalLM& model, uint64_t seed) {
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
