#include "automodel/dist/fsdp.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>

#include "automodel/checkpoint/flat_shards.h"
#include "automodel/common/error.h"
#include "automodel/models/common/checkpoint.h"

namespace automodel::dist {

FullyShardedModel::FullyShardedModel(models::CausalLM& model, ProcessGroup& group,
                                     const std::vector<std::string>& trainable, FsdpOptions options)
    : model_(model), group_(group), options_(options) {
  std::set<std::string> train(trainable.begin(), trainable.end());
  const std::regex layer_name("^" + std::regex_replace(model.layer_prefix(), std::regex(R"(\.)"), R"(\.)") +
                              R"(\.(\d+)\..*)");
  layers_.resize(static_cast<size_t>(model.num_layers()));
  const int64_t world = group.world_size(), rank = group.rank();
  at::NoGradGuard no_grad;
  for (const auto& p : model.named_parameters()) {
    Param q;
    q.name = p.name;
    q.slot = p.tensor;
    q.shape = p.tensor->sizes().vec();
    q.numel = p.tensor->numel();
    q.chunk = checkpoint::flat_chunk(q.numel, world);  // the layout checkpoints re-slice
    q.trainable = train.count(p.name) != 0;
    auto flat = at::zeros({q.chunk * world}, p.tensor->options().dtype(q.trainable ? at::kFloat : p.tensor->scalar_type()));
    flat.narrow(0, 0, q.numel).copy_(p.tensor->reshape({-1}));
    q.shard = flat.narrow(0, rank * q.chunk, q.chunk).clone();
    std::smatch m;
    size_t index = params_.size();
    by_name_.emplace(p.name, index);
    if (std::regex_match(p.name, m, layer_name))
      layers_.at(static_cast<size_t>(std::stoll(m[1]))).params.push_back(index);
    else
      root_.params.push_back(index);
    params_.push_back(std::move(q));
  }
  // A layer without parameters means the architecture names its layers otherwise: it would be
  // kept whole in the root unit, silently unsharded.
  for (size_t i = 0; i < layers_.size(); ++i)
    AM_CHECK(!layers_[i].params.empty(), "[dist] fsdp2 found no parameters of decoder layer {} (expected names "
             "starting with '{}.{}.')", i, model.layer_prefix(), i);
  for (size_t i = 0; i < params_.size(); ++i) *params_[i].slot = at::empty({0}, params_[i].shard.options());
  for (auto* unit : all_units()) {
    std::map<at::ScalarType, std::vector<size_t>> groups;
    for (size_t i : unit->params) {
      groups[params_[i].shard.scalar_type()].push_back(i);
      if (params_[i].trainable) unit->trainable.push_back(i);
    }
    for (auto& [_, ids] : groups) unit->by_dtype.push_back(std::move(ids));
  }
  model.set_layer_runner(
      [this](int64_t index, const models::Block& block, const std::vector<at::Tensor>& inputs) {
        return run_layer(index, block, inputs);
      });
}

FullyShardedModel::~FullyShardedModel() { model_.set_layer_runner({}); }

std::vector<train::TrainableParameter> FullyShardedModel::trainable_shards() {
  std::vector<train::TrainableParameter> out;
  for (auto& p : params_)
    if (p.trainable) out.push_back({p.name, &p.shard});
  return out;
}

// One all-gather per dtype group: each rank sends its shards of the group end to end.
void FullyShardedModel::gather(const Unit& unit, bool with_grad) {
  at::NoGradGuard no_grad;
  for (const auto& ids : unit.by_dtype) {
    std::vector<at::Tensor> shards;
    for (size_t i : ids) shards.push_back(params_[i].shard);
    auto parts = group_.all_gather(at::cat(shards));  // parts[r]: rank r's shards of the group
    int64_t offset = 0;
    for (size_t i : ids) {
      auto& p = params_[i];
      std::vector<at::Tensor> pieces;
      for (const auto& part : parts) pieces.push_back(part.narrow(0, offset, p.chunk));
      offset += p.chunk;
      auto full = at::cat(pieces).narrow(0, 0, p.numel).view(p.shape);
      if (with_grad && p.trainable) full = full.detach().requires_grad_(true);
      *p.slot = full;
    }
  }
}

// One all-reduce for the unit's trainable gradients (reduce-scatter: Gloo has none, so every
// rank sums everything and keeps its part). The buffer is laid out rank-major, (world, S + n),
// so each rank's shards of all parameters are contiguous; the last n columns count the ranks
// that had a gradient for each parameter (none: it keeps no gradient, as in one process).
void FullyShardedModel::reduce_gradients(const Unit& unit) {
  if (unit.trainable.empty()) return;
  at::NoGradGuard no_grad;
  const int64_t world = group_.world_size(), rank = group_.rank();
  const auto n = static_cast<int64_t>(unit.trainable.size());
  int64_t total = 0;
  for (size_t i : unit.trainable) total += params_[i].chunk;
  auto buffer = at::zeros({world, total + n}, params_[unit.trainable.front()].shard.options());
  int64_t offset = 0;
  for (int64_t j = 0; j < n; ++j) {
    const auto& p = params_[unit.trainable[static_cast<size_t>(j)]];
    if (p.slot->grad().defined()) {
      // Rank r's slice of the flat gradient goes to row r (the buffer's zeros are the padding).
      auto flat = p.slot->grad().reshape({-1});
      for (int64_t r = 0; r < world && r * p.chunk < p.numel; ++r) {
        const int64_t n = std::min(p.chunk, p.numel - r * p.chunk);
        buffer.select(0, r).narrow(0, offset, n).copy_(flat.narrow(0, r * p.chunk, n));
      }
      buffer.select(1, total + j).fill_(1.0);
    }
    offset += p.chunk;
  }
  group_.all_reduce_sum(buffer);
  auto mine = buffer.select(0, rank);
  // Read on the host once per step (drop_unused_gradients), not here: no device sync per layer.
  step_used_.emplace_back(&unit, mine.narrow(0, total, n).clone());
  offset = 0;
  for (int64_t j = 0; j < n; ++j) {
    auto& p = params_[unit.trainable[static_cast<size_t>(j)]];
    auto part = mine.narrow(0, offset, p.chunk);
    offset += p.chunk;
    if (p.shard.grad().defined())
      p.shard.mutable_grad().add_(part);
    else
      p.shard.mutable_grad() = part.clone();
  }
}

void FullyShardedModel::release(const Unit& unit) {
  for (size_t i : unit.params) *params_[i].slot = at::empty({0}, params_[i].shard.options());
}

std::vector<at::Tensor> FullyShardedModel::run_layer(int64_t index, const models::Block& block,
                                                     const std::vector<at::Tensor>& inputs) {
  const auto& unit = layers_.at(static_cast<size_t>(index));
  auto reduce_and_release = [this, &unit] {
    reduce_gradients(unit);
    release(unit);
  };
  if (!at::GradMode::is_enabled()) {  // evaluation: gather, run, free
    gather(unit, false);
    auto y = block(inputs);
    release(unit);
    return y;
  }
  if (!options_.reshard_after_forward) {  // gathered until the layer's backward
    gather(unit, true);
    return options_.activation_checkpointing ? models::checkpointed(block, inputs, reduce_and_release)
                                             : models::with_after_backward(block, inputs, reduce_and_release);
  }
  auto gathered = [this, &unit, block](const std::vector<at::Tensor>& layer_inputs) {
    bool grad = at::GradMode::is_enabled();  // off in forward, on in backward's recomputation
    gather(unit, grad);
    auto y = block(layer_inputs);
    if (!grad) release(unit);
    return y;
  };
  return models::checkpointed(gathered, inputs, reduce_and_release);
}

// Parameters no rank used in any micro-batch of the step (experts no token reached) got zero
// sums: they keep no gradient, so the optimizer skips them as it would in one process.
void FullyShardedModel::drop_unused_gradients() {
  if (step_used_.empty()) return;
  std::vector<at::Tensor> flags;
  for (const auto& [_, f] : step_used_) flags.push_back(f);
  auto host = at::cat(flags).gt(0).cpu();
  const bool* used = host.data_ptr<bool>();
  std::vector<bool> any(params_.size(), false);
  int64_t at = 0;
  for (const auto& [unit, f] : step_used_)
    for (size_t i : unit->trainable) any[i] = any[i] || used[at++];
  for (const auto& [unit, _] : step_used_)
    for (size_t i : unit->trainable)
      if (!any[i] && params_[i].shard.grad().defined()) params_[i].shard.mutable_grad().reset();
  step_used_.clear();
}

void FullyShardedModel::gather_root(bool with_grad) { gather(root_, with_grad); }
void FullyShardedModel::reduce_root_gradients() {
  reduce_gradients(root_);
  drop_unused_gradients();
}
void FullyShardedModel::release_root() { release(root_); }

void FullyShardedModel::for_each_unit(
    const std::function<void(const std::function<bool(const std::string&)>& in_unit)>& fn) {
  for (const auto* unit : all_units()) {
    std::set<std::string> names;
    for (size_t i : unit->params) names.insert(params_[i].name);
    gather(*unit, false);
    try {
      fn([&names](const std::string& name) { return names.count(name) != 0; });
    } catch (...) {
      release(*unit);
      throw;
    }
    release(*unit);
  }
}

double FullyShardedModel::clip_grad_norm(double max_norm) {
  at::NoGradGuard no_grad;
  double local = 0;
  for (auto& p : params_)
    if (p.trainable && p.shard.grad().defined()) {
      double n = p.shard.grad().norm(2).item<double>();
      local += n * n;
    }
  auto total_sq = at::tensor({local}, at::kDouble);
  group_.all_reduce_sum(total_sq);
  double total = std::sqrt(total_sq.item<double>());
  if (max_norm > 0 && total > max_norm)
    for (auto& p : params_)
      if (p.trainable && p.shard.grad().defined()) p.shard.mutable_grad().mul_(max_norm / (total + 1e-6));
  return total;
}

std::vector<std::pair<std::string, at::Tensor>> FullyShardedModel::shard_state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : params_)
    if (p.trainable) out.emplace_back(p.name, p.shard);
  return out;
}

void FullyShardedModel::load_shard_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  at::NoGradGuard no_grad;
  for (auto& p : params_) {
    if (!p.trainable) continue;
    auto it = by_name.find(p.name);
    AM_CHECK(it != by_name.end() && it->second.numel() == p.shard.numel(),
             "[checkpoint] the fsdp2 model shard of rank {} has no '{}' of {} elements (saved with another model or "
             "peft setting?)", group_.rank(), p.name, p.shard.numel());
    p.shard.copy_(it->second.view(p.shard.sizes()));
  }
}

int64_t FullyShardedModel::numel_of(const std::string& name) const {
  auto it = by_name_.find(name);
  AM_CHECK(it != by_name_.end(), "[dist] fsdp2 holds no parameter '{}'", name);
  return params_[it->second].numel;
}

std::vector<FullyShardedModel::Unit*> FullyShardedModel::all_units() {
  std::vector<Unit*> units{&root_};
  for (auto& u : layers_) units.push_back(&u);
  return units;
}

double FullyShardedModel::shard_bytes() const {
  double bytes = 0;
  for (const auto& p : params_) bytes += static_cast<double>(p.shard.nbytes()) * (p.trainable ? 2 : 1);
  return bytes;
}

}  // namespace automodel::dist
