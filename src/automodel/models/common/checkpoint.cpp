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
  at::Tensor input;                // with_after_backward: the detached input the graph starts from
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

// The autocast state of a forward, to recompute under the same one.
struct AutocastState {
  bool cpu = at::autocast::is_cpu_enabled(), cuda = at::autocast::is_enabled();
  at::ScalarType cpu_dtype = at::autocast::get_autocast_cpu_dtype();
  void apply() const {
    at::autocast::set_cpu_enabled(cpu);
    at::autocast::set_enabled(cuda);
    at::autocast::set_autocast_cpu_dtype(cpu_dtype);
  }
};

struct Checkpoint : public torch::autograd::Function<Checkpoint> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, int64_t id) {
    ctx->save_for_backward({x});
    ctx->saved_data["id"] = id;
    ctx->saved_data["rng"] = at::detail::getDefaultCPUGenerator().get_state();
    AutocastState autocast;
    ctx->saved_data["autocast_cpu"] = autocast.cpu;
    ctx->saved_data["autocast_cuda"] = autocast.cuda;
    ctx->saved_data["autocast_cpu_dtype"] = static_cast<int64_t>(autocast.cpu_dtype);
    return pending_of(id).block(x);  // autograd is off inside forward: nothing is saved
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    auto pending = take_pending(ctx->saved_data["id"].toInt());
    auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    auto generator = at::detail::getDefaultCPUGenerator();
    auto rng_now = generator.get_state();
    generator.set_state(ctx->saved_data["rng"].toTensor());  // same dropout masks as the forward
    AutocastState before;
    AutocastState{ctx->saved_data["autocast_cpu"].toBool(), ctx->saved_data["autocast_cuda"].toBool(),
                  static_cast<at::ScalarType>(ctx->saved_data["autocast_cpu_dtype"].toInt())}
        .apply();
    std::vector<at::Tensor> outputs;
    {
      at::AutoGradMode grad(true);
      outputs = pending.block(x);
    }
    before.apply();
    at::autocast::clear_cache();
    generator.set_state(rng_now);
    backward_outputs(outputs, grad_output, pending.after_backward);
    return {x.grad(), at::Tensor()};
  }
};

// Runs the block with autograd on inside forward and keeps its graph for backward.
struct KeepGraph : public torch::autograd::Function<KeepGraph> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, int64_t id) {
    ctx->saved_data["id"] = id;
    auto& pending = pending_of(id);
    at::AutoGradMode grad(true);
    pending.input = x.detach().requires_grad_(true);
    pending.outputs = pending.block(pending.input);
    return detached(pending.outputs);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    auto pending = take_pending(ctx->saved_data["id"].toInt());
    backward_outputs(pending.outputs, grad_output, pending.after_backward);
    return {pending.input.grad(), at::Tensor()};
  }
};

// x must take part in autograd so that backward reaches the node.
at::Tensor differentiable(const at::Tensor& x) { return x.requires_grad() ? x : x.detach().requires_grad_(true); }

}  // namespace

std::vector<at::Tensor> checkpointed(Block block, const at::Tensor& x, std::function<void()> after_backward) {
  if (!at::GradMode::is_enabled()) return block(x);
  auto id = register_pending({std::move(block), std::move(after_backward), {}, {}});
  return Checkpoint::apply(differentiable(x), id);
}

std::vector<at::Tensor> with_after_backward(Block block, const at::Tensor& x, std::function<void()> after_backward) {
  if (!at::GradMode::is_enabled()) return block(x);
  auto id = register_pending({std::move(block), std::move(after_backward), {}, {}});
  return KeepGraph::apply(differentiable(x), id);
}

}  // namespace automodel::models
