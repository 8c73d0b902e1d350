// What this binary was built with and runs on (LibTorch, CUDA/cuDNN/NCCL, visible GPUs, CPU
// instruction sets): the text `automodel --version` prints for bug reports.
#pragma once

#include <string>

namespace automodel {

// Several lines, e.g. "LibTorch 2.14.1\nCUDA 13.0 (cuDNN 9.13.0, NCCL 2.27.7); GPUs visible: 0\n...".
std::string build_info();

}  // namespace automodel
