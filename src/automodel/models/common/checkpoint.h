// Activation checkpointing: run a block without keeping its intermediate activations and
// recompute it during backward (same RNG and autocast state), trading compute for memory.
// Also the hook FSDP needs around a block's backward, with or without recomputation.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace automodel::models {

// A decoder layer as a function of its input: outputs[0] is the hidden state; the others
// (a MoE layer's router logits) are extra differentiable outputs. All must be defined.
using Block = std::function<std::vector<at::Tensor>(const at::Tensor&)>;

// outputs = block(x); gradients reach x and every parameter `block` uses (accumulated into .grad
// during backward). Without grad mode it is a plain call.
// `after_backward` runs once the block's gradients are accumulated (FSDP reduces and frees them).
std::vector<at::Tensor> checkpointed(Block block, const at::Tensor& x, std::function<void()> after_backward = {});

// outputs = block(x) keeping the activations as usual (no recomputation), and `after_backward`
// runs once the block's gradients are accumulated. Without grad mode it is a plain call.
std::vector<at::Tensor> with_after_backward(Block block, const at::Tensor& x, std::function<void()> after_backward);

}  // namespace automodel::models
