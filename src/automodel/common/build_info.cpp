#include "automodel/common/build_info.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/version.h>

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "automodel/dist/process_group.h"

namespace automodel {
namespace {

// The instruction-set flags the kernel reports for this CPU (/proc/cpuinfo), not what the
// compiler assumed: what decides whether bf16 and AMX paths can run here.
std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

std::string cpu_line() {
  auto flags = cpu_flags();
  std::string isa;
  for (auto [flag, name] : {std::pair{"avx2", "AVX2"}, {"avx512f", "AVX-512"}, {"avx512_bf16", "AVX512-BF16"},
                            {"avx512_fp16", "AVX512-FP16"}, {"amx_tile", "AMX"}, {"amx_bf16", "AMX-BF16"}})
    isa += fmt::format(" {}{}", flags.count(flag) ? "+" : "-", name);
  return fmt::format("CPU:{}; ATen kernels use {}; {} threads", isa, at::get_cpu_capability(), at::get_num_threads());
}

// "13.0" from CUDA's 13000-style numbers; cuDNN's 91300 -> "9.13.0".
std::string cuda_version(long v) { return fmt::format("{}.{}", v / 1000, v % 1000 / 10); }
std::string cudnn_version(long v) { return fmt::format("{}.{}.{}", v / 10000, v % 10000 / 100, v % 100); }

std::string cuda_line() {
#ifdef AUTOMODEL_WITH_CUDA
  auto& ctx = at::globalContext();
  std::string cudnn = ctx.hasCuDNN() ? "cuDNN " + cudnn_version(ctx.versionCuDNN()) : "no cuDNN";
  return fmt::format("CUDA {} ({}, NCCL {}); GPUs visible: {}", cuda_version(ctx.versionCUDART()), cudnn,
                     dist::nccl_version(), ctx.hasCUDA() ? at::detail::getCUDAHooks().deviceCount() : 0);
#else
  return "CUDA: not compiled in (CPU-only LibTorch)";
#endif
}

}  // namespace

std::string build_info() {
  return fmt::format("LibTorch {}\n{}\n{}", TORCH_VERSION, cuda_line(), cpu_line());
}

}  // namespace automodel
