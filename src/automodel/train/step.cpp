#include "automodel/train/step.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/tensor.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>

#include "automodel/models/vision/image_inputs.h"
#include "automodel/train/linear_cross_entropy.h"

namespace automodel::train {
namespace {

at::Tensor to_tensor(const std::vector<int32_t>& v, int64_t rows, int64_t len, c10::Device device) {
  auto t = at::from_blob(const_cast<int32_t*>(v.data()), {rows, len}, at::TensorOptions().dtype(at::kInt));
  return t.to(device, at::kLong);
}

}  // namespace

TrainStep::TrainStep(models::CausalLM& model, dist::ParallelModel& parallel, dist::ProcessGroup* dp_group,
                     Precision precision, int64_t loss_chunk_len)
    : model_(model), parallel_(parallel), dp_group_(dp_group), precision_(precision), loss_chunk_len_(loss_chunk_len) {}

MicroLoss TrainStep::forward_loss(const data::Batch& b) {
  const auto device = precision_.device;
  models::ModelInputs in;
  in.input_ids = to_tensor(b.ids, b.rows, b.length, device);
  in.position_ids = to_tensor(b.positions, b.rows, b.length, device);
  if (b.packed) in.document_ids = to_tensor(b.documents, b.rows, b.length, device);
  models::put_images(b.images, device, in);
  auto targets = to_tensor(b.targets, b.rows, b.length, device);
  AutocastScope autocast(precision_);
  auto out = model_.forward(in);
  MicroLoss loss;
  loss.token_sum = linear_cross_entropy_sum(out.hidden, model_.head(), targets, loss_chunk_len_);
  // Padding is routed like any token; the load-balancing loss counts real tokens only (as HF
  // with an attention mask), so it does not depend on how the batch is split or padded.
  at::Tensor real_tokens;  // (B, T) bool, only when the batch has padding
  if (b.real_tokens < b.rows * b.length) {
    auto lengths = at::tensor(b.row_lengths, at::kInt).to(device).unsqueeze(1);
    real_tokens = at::arange(b.length, lengths.options()).unsqueeze(0) < lengths;
  }
  loss.aux = model_.auxiliary_loss(out, real_tokens);
  return loss;
}

StepGradients TrainStep::compute_gradients(const std::vector<data::Batch>& micro, double max_grad_norm) {
  StepGradients g;
  for (const auto& b : micro) {
    g.label_tokens += b.target_tokens;
    g.real_tokens += b.real_tokens;
  }
  if (dp_group_) {  // the denominator is the label tokens of the whole step on every rank
    auto counts = at::tensor({g.label_tokens, g.real_tokens}, at::kLong);
    dp_group_->all_reduce_sum(counts);
    g.label_tokens = counts[0].item<int64_t>();
    g.real_tokens = counts[1].item<int64_t>();
  }
  parallel_.begin_step();
  const double denom = static_cast<double>(std::max<int64_t>(g.label_tokens, 1));
  for (size_t i = 0; i < micro.size(); ++i) {
    if (i + 1 == micro.size()) parallel_.before_last_backward();
    auto l = forward_loss(micro[i]);
    auto scaled = l.token_sum / denom;
    g.loss += scaled.item<double>();
    // HF adds the aux loss per forward; averaged over the micro-batches of the step.
    if (l.aux.defined()) scaled = scaled + l.aux.to(at::kFloat) / static_cast<double>(micro.size());
    scaled.backward();
  }
  parallel_.end_step();
  if (dp_group_) {
    auto total = at::tensor({g.loss}, at::kDouble);
    dp_group_->all_reduce_sum(total);
    g.loss = total.item<double>();
  }
  g.grad_norm = parallel_.clip_grad_norm(max_grad_norm);
  return g;
}

}  // namespace automodel::train
