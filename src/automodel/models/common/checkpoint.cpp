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
std::mutex g_mutex;
struct Pending {
  std::function<at::Tensor(const at::Tensor&)> block;
  std::function<void()> after_backward;
};
std::unordered_map<int64_t, Pending> g_blocks;
std::atomic<int64_t> g_next_id{0};

struct Checkpoint : public torch::autograd::Function<Checkpoint> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t id) {
    ctx->save_for_backward({x});
    ctx->saved_data["id"] = id;
    ctx->saved_data["rng"] = at::detail::getDefaultCPUGenerator().get_state();
    ctx->saved_data["autocast_cpu"] = at::autocast::is_cpu_enabled();
    ctx->saved_data["autocast_cuda"] = at::autocast::is_enabled();
    ctx->saved_data["autocast_cpu_dtype"] = static_cast<int64_t>(at::autocast::get_autocast_cpu_dtype());
    std::function<at::Tensor(const at::Tensor&)> block;
    {
      std::lock_guard lock(g_mutex);
      block = g_blocks.at(id).block;
    }
    return block(x);  // autograd is off inside forward: nothing is saved
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    auto id = ctx->saved_data["id"].toInt();
    Pending pending;
    {
      std::lock_guard lock(g_mutex);
      pending = std::move(g_blocks.at(id));
      g_blocks.erase(id);
    }
    auto& block = pending.block;
    auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    auto generator = at::detail::getDefaultCPUGenerator();
    auto rng_now = generator.get_state();
    generator.set_state(ctx->saved_data["rng"].toTensor());  // same dropout masks as the forward
    bool cpu_before = at::autocast::is_cpu_enabled(), cuda_before = at::autocast::is_enabled();
    auto dtype_before = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(ctx->saved_data["autocast_cpu"].toBool());
    at::autocast::set_enabled(ctx->saved_data["autocast_cuda"].toBool());
    at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(ctx->saved_data["autocast_cpu_dtype"].toInt()));
    at::Tensor y;
    {
      at::AutoGradMode grad(true);
      y = block(x);
    }
    at::autocast::set_cpu_enabled(cpu_before);
    at::autocast::set_enabled(cuda_before);
    at::autocast::set_autocast_cpu_dtype(dtype_before);
    at::autocast::clear_cache();
    generator.set_state(rng_now);
    torch::autograd::backward({y}, {grad_output[0]});
    if (pending.after_backward) pending.after_backward();
    return {x.grad(), at::Tensor()};
  }
};

}  // namespace

at::Tensor checkpointed(std::function<at::Tensor(const at::Tensor&)> block, const at::Tensor& x,
                        std::function<void()> after_backward) {
  if (!at::GradMode::is_enabled()) return block(x);
  int64_t id = g_next_id++;
  {
    std::lock_guard lock(g_mutex);
    g_blocks.emplace(id, Pending{std::move(block), std::move(after_backward)});
  }
  // x must take part in autograd so that backward reaches this node.
  auto input = x.requires_grad() ? x : x.detach().requires_grad_(true);
  return Checkpoint::apply(input, id);
}

}  // namespace automodel::models
