// Activation checkpointing: run a block without keeping its intermediate activations and
// recompute it during backward (same RNG and autocast state), trading compute for memory.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

namespace automodel::models {

// y = block(x); gradients reach x and every parameter `block` uses (accumulated into .grad
// during backward). Without grad mode it is a plain call.
// `after_backward` runs once the block's gradients are accumulated (FSDP reduces and frees them).
at::Tensor checkpointed(std::function<at::Tensor(const at::Tensor&)> block, const at::Tensor& x,
                        std::function<void()> after_backward = {});

}  // namespace automodel::models
