#include "automodel/models/common/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace automodel::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Blocks waiting for their backward, by id (autograd contexts hold IValues, not closures).
struct Pending {
  Block block;
  std::function<void()> after_backward;
  std::vector<at::Tensor> inputs;  // with_after_backward: the detached inputs the graph starts from
  std::vector<at::Tensor> outputs; // with_after_backward: the block's outputs, graph attached
};
std::mutex g_mutex;
std::unordered_map<int64_t, Pending> g_pending;
std::atomic<int64_t> g_next_id{0};

int64_t register_pending(Pending pending) {
  int64_t id = g_next_id++;
  std::lock_guard lock(g_mutex);
  g_pending.emplace(id, std::move(pending));
  return id;
}

Pending& pending_of(int64_t id) {
  std::lock_guard lock(g_mutex);
  return g_pending.at(id);
}

Pending take_pending(int64_t id) {
  std::lock_guard lock(g_mutex);
  auto pending = std::move(g_pending.at(id));
  g_pending.erase(id);
  return pending;
}

// Backpropagates the outputs that received a gradient (a router's logits get none when no
// auxiliary loss uses them), then lets the caller act on the accumulated gradients.
void backward_outputs(const std::vector<at::Tensor>& outputs, const variable_list& grads,
                      const std::function<void()>& after_backward) {
  std::vector<at::Tensor> roots, root_grads;
  for (size_t i = 0; i < outputs.size(); ++i)
    if (grads[i].defined() && outputs[i].requires_grad()) {
      roots.push_back(outputs[i]);
      root_grads.push_back(grads[i]);
    }
  if (!roots.empty()) torch::autograd::backward(roots, root_grads);
  if (after_backward) after_backward();
}

variable_list detached(const std::vector<at::Tensor>& outputs) {
  variable_list out;
  for (const auto& t : outputs) out.push_back(t.detach());
  return out;
}

// The inputs a block's own graph starts from: detached, each tracking gradients when the
// caller's did (`needs_grad(i)`).
variable_list graph_inputs(const variable_list& inputs, const std::function<bool(size_t)>& needs_grad) {
  variable_list out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto t = inputs[i].detach();
    out.push_back(needs_grad(i) ? t.requires_grad_(true) : t);
  }
  return out;
}

// The gradients of a block's inputs, then none for the id argument.
variable_list input_grads(const variable_list& inputs) {
  variable_list grads;
  for (const auto& t : inputs) grads.push_back(t.requires_grad() ? t.grad() : at::Tensor());
  grads.emplace_back();
  return grads;
}

// The autocast state of a forward, to recompute under the same one.
struct AutocastState {
  bool cpu = at::autocast::is_autocast_enabled(at::kCPU), cuda = at::autocast::is_autocast_enabled(at::kCUDA);
  at::ScalarType cpu_dtype = at::autocast::get_autocast_dtype(at::kCPU);
  at::ScalarType cuda_dtype = at::autocast::get_autocast_dtype(at::kCUDA);
  void apply() const {
    at::autocast::set_autocast_enabled(at::kCPU, cpu);
    at::autocast::set_autocast_enabled(at::kCUDA, cuda);
    at::autocast::set_autocast_dtype(at::kCPU, cpu_dtype);
    at::autocast::set_autocast_dtype(at::kCUDA, cuda_dtype);
  }
};

struct Checkpoint : public torch::autograd::Function<Checkpoint> {
  static variable_list forward(AutogradContext* ctx, at::TensorList inputs, int64_t id) {
    ctx->save_for_backward(inputs.vec());
    ctx->saved_data["id"] = id;
    ctx->saved_data["rng"] = at::detail::getDefaultCPUGenerator().get_state();
    AutocastState autocast;
    ctx->saved_data["autocast_cpu"] = autocast.cpu;
    ctx->saved_data["autocast_cuda"] = autocast.cuda;
    ctx->saved_data["autocast_cpu_dtype"] = static_cast<int64_t>(autocast.cpu_dtype);
    ctx->saved_data["autocast_cuda_dtype"] = static_cast<int64_t>(autocast.cuda_dtype);
    return pending_of(id).block(inputs.vec());  // autograd is off inside forward: nothing is saved
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    auto pending = take_pending(ctx->saved_data["id"].toInt());
    auto inputs = graph_inputs(ctx->get_saved_variables(), [ctx](size_t i) { return ctx->needs_input_grad(i); });
    auto generator = at::detail::getDefaultCPUGenerator();
    auto rng_now = generator.get_state();
    generator.set_state(ctx->saved_data["rng"].toTensor());  // same dropout masks as the forward
    AutocastState before;
    AutocastState{ctx->saved_data["autocast_cpu"].toBool(), ctx->saved_data["autocast_cuda"].toBool(),
                  static_cast<at::ScalarType>(ctx->saved_data["autocast_cpu_dtype"].toInt()),
                  static_cast<at::ScalarType>(ctx->saved_data["autocast_cuda_dtype"].toInt())}
        .apply();
    std::vector<at::Tensor> outputs;
    {
      at::AutoGradMode grad(true);
      outputs = pending.block(inputs);
    }
    before.apply();
    at::autocast::clear_cache();
    generator.set_state(rng_now);
    backward_outputs(outputs, grad_output, pending.after_backward);
    return input_grads(inputs);
  }
};

// Runs the block with autograd on inside forward and keeps its graph for backward.
struct KeepGraph : public torch::autograd::Function<KeepGraph> {
  static variable_list forward(AutogradContext* ctx, at::TensorList inputs, int64_t id) {
    ctx->saved_data["id"] = id;
    auto& pending = pending_of(id);
    at::AutoGradMode grad(true);
    pending.inputs = graph_inputs(inputs.vec(), [&inputs](size_t i) { return inputs[i].requires_grad(); });
    pending.outputs = pending.block(pending.inputs);
    return detached(pending.outputs);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    auto pending = take_pending(ctx->saved_data["id"].toInt());
    backward_outputs(pending.outputs, grad_output, pending.after_backward);
    return input_grads(pending.inputs);
  }
};

// The hidden state must take part in autograd so that backward reaches the node (the other
// inputs keep theirs: a frozen per-layer input gets no gradient).
variable_list differentiable(variable_list inputs) {
  if (!inputs[0].requires_grad()) inputs[0] = inputs[0].detach().requires_grad_(true);
  return inputs;
}

}  // namespace

std::vector<at::Tensor> checkpointed(Block block, const std::vector<at::Tensor>& inputs,
                                     std::function<void()> after_backward) {
  if (!at::GradMode::is_enabled()) return block(inputs);
  auto id = register_pending({std::move(block), std::move(after_backward), {}, {}});
  auto tracked = differentiable(inputs);
  return Checkpoint::apply(at::TensorList(tracked), id);
}

std::vector<at::Tensor> with_after_backward(Block block, const std::vector<at::Tensor>& inputs,
                                            std::function<void()> after_backward) {
  if (!at::GradMode::is_enabled()) return block(inputs);
  auto id = register_pending({std::move(block), std::move(after_backward), {}, {}});
  auto tracked = differentiable(inputs);
  return KeepGraph::apply(at::TensorList(tracked), id);
}

}  // namespace automodel::models
