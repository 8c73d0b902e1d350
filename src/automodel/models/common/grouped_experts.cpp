#include "automodel/models/common/grouped_experts.h"

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <numeric>

#include "automodel/common/error.h"

namespace automodel::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Input = DenseExperts::Input;

// Experts dealt to threads, largest first, each to the least loaded thread: routing is skewed,
// and a contiguous split would leave one thread waiting on the other.
std::vector<std::vector<int64_t>> deal_to_threads(const std::vector<int64_t>& counts, int64_t threads) {
  std::vector<int64_t> by_size(counts.size());
  std::iota(by_size.begin(), by_size.end(), 0);
  std::stable_sort(by_size.begin(), by_size.end(), [&](int64_t a, int64_t b) { return counts[a] > counts[b]; });
  std::vector<std::vector<int64_t>> plan(static_cast<size_t>(threads));
  std::vector<int64_t> load(static_cast<size_t>(threads), 0);
  for (int64_t e : by_size) {
    if (counts[e] == 0) break;
    auto t = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    plan[t].push_back(e);
    load[t] += counts[e];
  }
  return plan;
}

// body(expert, first row, rows) for every expert with rows, experts in parallel. (at::parallel_for's
// loop is inline OpenMP: this file is compiled with OpenMP, see the CMakeLists.)
template <typename Body>
void for_each_expert(const std::vector<int64_t>& counts, const Body& body) {
  std::vector<int64_t> first(counts.size(), 0);
  for (size_t e = 1; e < counts.size(); ++e) first[e] = first[e - 1] + counts[e - 1];
  const auto plan = deal_to_threads(counts, std::max<int64_t>(1, at::get_num_threads()));
  at::parallel_for(0, static_cast<int64_t>(plan.size()), 1, [&](int64_t begin, int64_t end) {
    // Worker threads start with grad mode on; this is the Function's own arithmetic.
    at::NoGradGuard no_grad;
    for (int64_t t = begin; t < end; ++t)
      for (int64_t e : plan[static_cast<size_t>(t)])
        body(e, first[static_cast<size_t>(e)], counts[static_cast<size_t>(e)]);
  });
}

bool is_stacked(const variable_list& list) { return list.size() == 1 && list[0].dim() == 3; }
at::Tensor matrix(const variable_list& list, int64_t e) {
  return is_stacked(list) ? list[0][e] : list[static_cast<size_t>(e)];
}

// Gradients of one weight list: a stacked tensor's, zero-filled and written slice by slice; or
// one tensor per expert, undefined for experts without rows.
struct WeightGrads {
  WeightGrads(const variable_list& weights, bool needed) : stacked(is_stacked(weights)), needed(needed) {
    if (!needed) return;
    if (stacked) grads = {at::zeros_like(weights[0])};
    else grads.resize(weights.size());
  }
  void set(int64_t e, const at::Tensor& a, const at::Tensor& b) {  // a^T b
    if (!needed) return;
    if (stacked) {
      auto slice = grads[0][e];
      at::mm_out(slice, a.t(), b);
    } else {
      grads[static_cast<size_t>(e)] = at::mm(a.t(), b);
    }
  }
  bool stacked, needed;
  variable_list grads;
};

struct DenseExpertsFunction : public torch::autograd::Function<DenseExpertsFunction> {
  // scale: (rows, 1), or empty for none (an autograd Function's tensor inputs must be defined).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& scale,
                            at::TensorList first_list, at::TensorList second_list, at::TensorList down_list,
                            const std::vector<int64_t>& counts, int64_t input_kind, int64_t act_kind) {
    const variable_list first(first_list.begin(), first_list.end()), second(second_list.begin(), second_list.end()),
        down(down_list.begin(), down_list.end());
    const auto input = static_cast<Input>(input_kind);
    const auto act = static_cast<Activation>(act_kind);
    const bool scaled = scale.numel() > 0;
    auto xin = x.contiguous();
    const int64_t rows = xin.size(0);
    // Pre-activations, kept for the backward: gate (or gate_up, or up) and up.
    auto pre_first = at::empty({rows, matrix(first, 0).size(0)}, xin.options());
    auto pre_second = input == Input::kGateAndUp ? at::empty({rows, matrix(second, 0).size(0)}, xin.options())
                                                 : at::empty({0}, xin.options());
    auto out = at::empty({rows, matrix(down, 0).size(0)}, xin.options());
    for_each_expert(counts, [&](int64_t e, int64_t row, int64_t n) {
      auto xe = xin.narrow(0, row, n);
      auto a = pre_first.narrow(0, row, n);
      at::mm_out(a, xe, matrix(first, e).t());
      if (input == Input::kGateAndUp) {
        auto b = pre_second.narrow(0, row, n);
        at::mm_out(b, xe, matrix(second, e).t());
      }
      auto h = hidden(input, act, a, input == Input::kGateAndUp ? pre_second.narrow(0, row, n) : at::Tensor());
      auto o = out.narrow(0, row, n);
      if (scaled) o.copy_(at::mm(h, matrix(down, e).t()) * scale.narrow(0, row, n));
      else at::mm_out(o, h, matrix(down, e).t());
    });
    variable_list saved{xin, scale, pre_first, pre_second};
    for (const auto* list : {&first, &second, &down}) saved.insert(saved.end(), list->begin(), list->end());
    ctx->save_for_backward(saved);
    ctx->saved_data["counts"] = counts;
    ctx->saved_data["sizes"] = std::vector<int64_t>{static_cast<int64_t>(first.size()),
                                                    static_cast<int64_t>(second.size())};
    ctx->saved_data["input"] = input_kind;
    ctx->saved_data["act"] = act_kind;
    return out;
  }

  // The activation input(s) of one expert's rows: gate and up from a gate-and-up pair or the two
  // halves of [gate | up]; the activation's input alone for kUp (up undefined).
  static std::pair<at::Tensor, at::Tensor> gate_and_up(Input input, const at::Tensor& a, const at::Tensor& b) {
    if (input == Input::kGateAndUp) return {a, b};
    if (input == Input::kFusedGateUp) {
      const int64_t width = a.size(1) / 2;
      return {a.narrow(1, 0, width), a.narrow(1, width, width)};
    }
    return {a, at::Tensor()};
  }

  static at::Tensor hidden(Input input, Activation act, const at::Tensor& a, const at::Tensor& b) {
    auto [gate, up] = gate_and_up(input, a, b);
    return up.defined() ? activate(act, gate) * up : activate(act, gate);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const auto counts = ctx->saved_data["counts"].toIntVector();
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto input = static_cast<Input>(ctx->saved_data["input"].toInt());
    const auto act = static_cast<Activation>(ctx->saved_data["act"].toInt());
    const auto &xin = saved[0], &scale = saved[1], &pre_first = saved[2], &pre_second = saved[3];
    const auto list_at = [&](size_t begin, size_t size) {
      return variable_list(saved.begin() + static_cast<std::ptrdiff_t>(4 + begin),
                           saved.begin() + static_cast<std::ptrdiff_t>(4 + begin + size));
    };
    const auto n_first = static_cast<size_t>(sizes[0]), n_second = static_cast<size_t>(sizes[1]);
    const auto first = list_at(0, n_first), second = list_at(n_first, n_second),
               down = list_at(n_first + n_second, saved.size() - 4 - n_first - n_second);
    const bool scaled = scale.numel() > 0;
    // Input edges: x, scale, then the three lists' tensors in order.
    at::Tensor grad_x = ctx->needs_input_grad(0) ? at::empty_like(xin) : at::Tensor();
    at::Tensor grad_scale = scaled && ctx->needs_input_grad(1) ? at::empty_like(scale) : at::Tensor();
    const auto any_needs_grad = [&](size_t begin, size_t size) {
      for (size_t i = begin; i < begin + size; ++i)
        if (ctx->needs_input_grad(i)) return true;
      return false;
    };
    WeightGrads grad_first(first, any_needs_grad(2, n_first)), grad_second(second, any_needs_grad(2 + n_first, n_second)),
        grad_down(down, any_needs_grad(2 + n_first + n_second, down.size()));
    auto grad_out = grad_output[0].contiguous();

    for_each_expert(counts, [&](int64_t e, int64_t row, int64_t n) {
      auto xe = xin.narrow(0, row, n);
      auto dy = grad_out.narrow(0, row, n);
      auto a = pre_first.narrow(0, row, n);
      auto [gate, up] = gate_and_up(input, a, input == Input::kGateAndUp ? pre_second.narrow(0, row, n) : at::Tensor());
      auto activated = activate(act, gate);
      auto h = up.defined() ? activated * up : activated;
      const auto& w_down = matrix(down, e);
      // out = (h down^T) * scale: d h = (dy down) * scale; d scale = rowsum((dy down) * h), the
      // same as rowsum(dy * h down^T) without recomputing the product.
      at::Tensor dh, dy_scaled = dy;
      if (scaled) {
        auto s = scale.narrow(0, row, n);
        auto dh_unscaled = at::mm(dy, w_down);
        if (grad_scale.defined())
          grad_scale.narrow(0, row, n).copy_((dh_unscaled.to(s.scalar_type()) * h.to(s.scalar_type())).sum(-1, true));
        dh = (dh_unscaled * s).to(h.scalar_type());
        dy_scaled = (dy * s).to(dy.scalar_type());
      } else {
        dh = at::mm(dy, w_down);
      }
      grad_down.set(e, dy_scaled, h);
      at::Tensor d_gate = activation_backward(act, up.defined() ? dh * up : dh, gate);
      at::Tensor d_first = d_gate, d_second;
      if (input == Input::kFusedGateUp) d_first = at::cat({d_gate, dh * activated}, 1);
      if (input == Input::kGateAndUp) d_second = dh * activated;
      grad_first.set(e, d_first, xe);
      if (d_second.defined()) grad_second.set(e, d_second, xe);
      if (grad_x.defined()) {
        auto dx = grad_x.narrow(0, row, n);
        at::mm_out(dx, d_first, matrix(first, e));
        if (d_second.defined()) dx.addmm_(d_second, matrix(second, e));
      }
    });
    variable_list grads{grad_x, grad_scale};
    for (auto* g : {&grad_first, &grad_second, &grad_down}) {
      const size_t size = g == &grad_first ? n_first : g == &grad_second ? n_second : down.size();
      if (g->needed) grads.insert(grads.end(), g->grads.begin(), g->grads.end());
      else grads.resize(grads.size() + size);
    }
    grads.resize(grads.size() + 3);  // counts, input, act
    return grads;
  }
};

}  // namespace

at::Tensor run_dense_experts(const DenseExperts& experts, const at::Tensor& x, const at::Tensor& scale,
                             const std::vector<int64_t>& counts) {
  const auto n = static_cast<int64_t>(counts.size());
  const auto count_of = [](const std::vector<at::Tensor>& list) {
    return list.size() == 1 && list[0].dim() == 3 ? list[0].size(0) : static_cast<int64_t>(list.size());
  };
  AM_CHECK(x.dim() == 2, "dense experts: x must be (rows, hidden), got {} dims", x.dim());
  AM_CHECK(count_of(experts.first) == n && count_of(experts.down) == n &&
               (experts.input != Input::kGateAndUp || count_of(experts.second) == n),
           "dense experts: {} experts routed, but {} first / {} second / {} down matrices", n,
           count_of(experts.first), count_of(experts.second), count_of(experts.down));
  const auto rows = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  AM_CHECK(rows == x.size(0), "dense experts: the experts' row counts sum to {}, x has {} rows", rows, x.size(0));
  if (rows == 0) return at::empty({0, experts.down[0].size(-2)}, x.options());
  return DenseExpertsFunction::apply(x, scale.defined() ? scale : at::empty({0}, x.options()),
                                     at::TensorList(experts.first), at::TensorList(experts.second),
                                     at::TensorList(experts.down), counts, static_cast<int64_t>(experts.input),
                                     static_cast<int64_t>(experts.act));
}

}  // namespace automodel::models
