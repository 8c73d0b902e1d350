// The one place where LibTorch version differences live (Debian's 1.13 CPU build vs the 2.x
// LibTorch inside pip PyTorch used for CUDA builds).
#pragma once

#include <torch/version.h>

#define AUTOMODEL_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// at::Float8_e4m3fn / Float8_e5m2 scalar types exist from 2.1.
#define AUTOMODEL_HAS_FLOAT8 AUTOMODEL_TORCH_AT_LEAST(2, 1)
// Public at::scaled_dot_product_attention exists from 2.0.
#define AUTOMODEL_HAS_SDPA AUTOMODEL_TORCH_AT_LEAST(2, 0)
