#include "automodel/models/common/generation.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/sort.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/topk.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "automodel/common/error.h"

namespace automodel::models {
namespace {

int64_t sample_next(at::Tensor logits, const SamplingOptions& o, at::Generator& gen) {
  // logits: (V,) fp32
  if (o.temperature <= 0) return logits.argmax().item<int64_t>();
  logits = logits / o.temperature;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (o.top_k > 0 && o.top_k < logits.size(0)) {
    auto kth = std::get<0>(at::topk(logits, o.top_k)).min();
    logits = logits.masked_fill(logits < kth, neg_inf);
  }
  if (o.top_p < 1.0) {
    auto [sorted, order] = at::sort(logits, 0, /*descending=*/true);
    auto cumulative = at::cumsum(at::softmax(sorted, 0), 0);
    // Drop tokens once the mass before them already exceeds top_p (always keep the first).
    auto drop_sorted = (cumulative - at::softmax(sorted, 0)) > o.top_p;
    auto drop = at::zeros_like(drop_sorted).scatter(0, order, drop_sorted);
    logits = logits.masked_fill(drop, neg_inf);
  }
  return at::multinomial(at::softmax(logits, 0), 1, false, gen).item<int64_t>();
}

}  // namespace

void check_sampling_options(const SamplingOptions& o) {
  AM_CHECK(o.max_new_tokens >= 0, "[generate] max_new_tokens: expected an integer >= 0, found {}", o.max_new_tokens);
  AM_CHECK(std::isfinite(o.temperature) && o.temperature >= 0,
           "[generate] temperature: expected a finite number >= 0 (0 = greedy), found {}", o.temperature);
  AM_CHECK(o.top_p > 0 && o.top_p <= 1, "[generate] top_p: expected a number in (0, 1], found {}", o.top_p);
  AM_CHECK(o.top_k >= 0, "[generate] top_k: expected an integer >= 0 (0 = off), found {}", o.top_k);
}

std::vector<int64_t> generate(CausalLM& model, const std::vector<int64_t>& prompt, const SamplingOptions& options,
                              const std::function<void(int64_t)>& on_token, const ModelInputs& images) {
  AM_CHECK(!prompt.empty(), "[generate] the prompt must contain at least one token");
  check_sampling_options(options);
  at::NoGradGuard no_grad;
  auto device = model.output_embedding().device();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  KVCache cache;
  std::vector<int64_t> ids = prompt;
  auto step_input = at::tensor(prompt, at::TensorOptions().dtype(at::kLong)).view({1, -1}).to(device);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    ForwardOptions fwd;
    fwd.cache = &cache;
    ModelInputs in = step == 0 ? images : ModelInputs{};
    in.input_ids = step_input;
    auto out = model.forward(in, fwd);
    auto last = out.hidden.select(1, out.hidden.size(1) - 1);  // (1, H)
    auto logits = model.logits(last).select(0, 0).to(at::kFloat).cpu();
    int64_t next = sample_next(logits, options, gen);
    ids.push_back(next);
    if (on_token) on_token(next);
    if (std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), next) != options.eos_token_ids.end()) break;
    step_input = at::tensor(std::vector<int64_t>{next}, at::TensorOptions().dtype(at::kLong)).view({1, 1}).to(device);
  }
  return ids;
}

}  // namespace automodel::models
