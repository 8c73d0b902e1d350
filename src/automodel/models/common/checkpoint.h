// Activation checkpointing: run a block without keeping its intermediate activations and
// recompute it during backward (same RNG and autocast state), trading compute for memory.
// Also the hook FSDP needs around a block's backward, with or without recomputation.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace automodel::models {

// A decoder layer as a function of its inputs. inputs[0] is the hidden state; the others are what
// the model or earlier layers hand it (Gemma's per-layer inputs, keys/values shared between
// layers). outputs[0] is the hidden state; the others are extra differentiable outputs (a MoE
// layer's router logits, the keys/values later layers read). Tensors a layer reads from outside
// must arrive as inputs, not captures: backward then reaches their graphs once, through the
// layer's input gradients, even when the layer is recomputed. Outputs must be defined.
using Block = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>& inputs)>;

// outputs = block(inputs); gradients reach the inputs and every parameter `block` uses
// (accumulated into .grad during backward). Without grad mode it is a plain call.
// `after_backward` runs once the block's gradients are accumulated (FSDP reduces and frees them).
std::vector<at::Tensor> checkpointed(Block block, const std::vector<at::Tensor>& inputs,
                                     std::function<void()> after_backward = {});

// outputs = block(inputs) keeping the activations as usual (no recomputation), and
// `after_backward` runs once the block's gradients are accumulated. Without grad mode it is a
// plain call.
std::vector<at::Tensor> with_after_backward(Block block, const std::vector<at::Tensor>& inputs,
                                            std::function<void()> after_backward);

}  // namespace automodel::models
