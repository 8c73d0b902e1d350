// Bridges between the torch-free HF layer and ATen: dtype mapping, tensors from mapped
// safetensors bytes, device parsing, and thread setup.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "automodel/hf/dtype.h"
#include "automodel/hf/safetensors.h"

namespace automodel {

at::ScalarType to_scalar_type(hf::DType dtype);  // F8 maps to Float (decoded on load)
hf::DType to_hf_dtype(at::ScalarType type);
std::string scalar_type_name(at::ScalarType type);  // "fp32", "bf16", ...
at::ScalarType parse_compute_dtype(const std::string& name);  // fp32|bf16|fp16 (+ long names)
c10::Device parse_device(const std::string& name);           // cpu | cuda | cuda:N

// Copies (and converts) the mapped bytes into `dst`, which must have the view's shape.
void copy_view_into(const hf::TensorView& view, at::Tensor& dst);
// A new tensor of `type` on `device` holding the view's values.
at::Tensor tensor_from_view(const hf::TensorView& view, at::ScalarType type, c10::Device device);
// A CPU tensor sharing the mapped bytes without copying; it keeps the file mapped while alive.
// The memory is read-only: never modify it in place. FP8 views keep their FP8 type.
at::Tensor borrow_view(const hf::TensorView& view);

// Uses all cores (LibTorch may start with 1 thread on small VMs); `threads` <= 0 means nproc.
void init_threads(int threads = 0);

}  // namespace automodel
