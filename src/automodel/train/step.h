// One optimizer step's forward and backward: the micro-batches of this rank, the loss as the
// summed token cross-entropy over the label tokens of the whole step (all micro-batches, all
// data-parallel ranks), gradients made global by the parallel model and clipped.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "automodel/data/loader.h"
#include "automodel/dist/parallelize.h"
#include "automodel/dist/process_group.h"
#include "automodel/models/common/causal_lm.h"
#include "automodel/train/precision.h"

namespace automodel::train {

struct MicroLoss {
  at::Tensor token_sum;  // () summed token cross-entropy of the micro-batch
  at::Tensor aux;        // () the model's auxiliary loss (MoE load balancing), or undefined
};

struct StepGradients {
  double loss = 0;       // mean token loss of the step over every rank
  double grad_norm = 0;  // before clipping
  int64_t label_tokens = 0, real_tokens = 0;  // over every rank
};

class TrainStep {
 public:
  // `dp_group`: the data-parallel ranks (null in one process). `loss_chunk_len`: rows of the
  // fused linear cross-entropy's chunks (never the whole logits).
  TrainStep(models::CausalLM& model, dist::ParallelModel& parallel, dist::ProcessGroup* dp_group, Precision precision,
            int64_t loss_chunk_len);

  // Forward of one micro-batch under autocast: the summed token CE and the auxiliary loss.
  MicroLoss forward_loss(const data::Batch& batch);
  // Forward and backward of this rank's micro-batches of one step. The loss is the same for any
  // split of the global batch into micro-batches and processes.
  StepGradients compute_gradients(const std::vector<data::Batch>& micro, double max_grad_norm);

  const Precision& precision() const { return precision_; }
  models::CausalLM& model() { return model_; }
  dist::ParallelModel& parallel() { return parallel_; }

 private:
  models::CausalLM& model_;
  dist::ParallelModel& parallel_;
  dist::ProcessGroup* dp_group_;
  Precision precision_;
  int64_t loss_chunk_len_;
};

}  // namespace automodel::train
