#include "automodel/train/precision.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>

#include "automodel/common/torch_util.h"

namespace automodel::train {

Precision resolve_precision(const config::ModelSection& m) {
  Precision p;
  p.device = m.device == "auto" ? (at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU))
                                : parse_device(m.device);
  p.compute = m.torch_dtype == "auto" ? (p.device.is_cuda() ? at::kBFloat16 : at::kFloat)
                                      : parse_compute_dtype(m.torch_dtype);
  return p;
}

AutocastScope::AutocastScope(const Precision& p) : on_(p.compute != at::kFloat), cuda_(p.device.is_cuda()) {
  if (!on_) return;
  // The dtype is set for the device too: CUDA's autocast would otherwise compute in fp16.
  const auto device = cuda_ ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_enabled(device, true);
  at::autocast::set_autocast_dtype(device, p.compute);
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
  at::autocast::set_autocast_enabled(cuda_ ? at::kCUDA : at::kCPU, false);
  at::autocast::clear_cache();
}

}  // namespace automodel::train
