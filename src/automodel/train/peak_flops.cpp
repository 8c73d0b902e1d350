#include "automodel/train/peak_flops.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/randn.h>
#include <torch/version.h>
#include <unistd.h>

#ifdef AUTOMODEL_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/common/logging.h"
#include "automodel/common/torch_util.h"

namespace fs = std::filesystem;

namespace automodel::train {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      auto v = line.substr(line.find(':') + 1);
      return v.substr(v.find_first_not_of(' '));
    }
  return "unknown CPU";
}

std::string entry_key(at::ScalarType dtype, int threads) {
  return fmt::format("{} | {} | {} threads", machine_key(), scalar_type_name(dtype), threads);
}

}  // namespace

double probe_matmul_tflops(at::ScalarType dtype) {
  using clock = std::chrono::steady_clock;
  auto seconds_of_mm = [](const at::Tensor& a, const at::Tensor& b) {
    auto start = clock::now();
    at::mm(a, b);
    return std::chrono::duration<double>(clock::now() - start).count();
  };
  // Small products time the call overhead, not the arithmetic: grow until one takes >= 20 ms.
  int64_t n = 256;
  at::Tensor a, b;
  double best = 0;
  for (;; n *= 2) {
    a = at::randn({n, n}, at::TensorOptions().dtype(dtype));
    b = at::randn({n, n}, at::TensorOptions().dtype(dtype));
    seconds_of_mm(a, b);  // warm-up: packing buffers, thread pool
    best = seconds_of_mm(a, b);
    if (best >= 0.02 || n >= 4096) break;
  }
  // Best of a few (at least 3, about 0.2 s): the peak, not an average with noise from neighbours.
  double total = best;
  for (int i = 0; i < 3 || (total < 0.2 && i < 50); ++i) {
    double s = seconds_of_mm(a, b);
    best = std::min(best, s);
    total += s;
  }
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / best / 1e12;
}

fs::path peak_flops_cache_file() {
  if (const char* dir = std::getenv("AUTOMODEL_CACHE_DIR"); dir && *dir) return fs::path(dir) / "peak_flops.json";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "automodel" / "peak_flops.json";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "automodel" / "peak_flops.json";
  return {};
}

std::string machine_key() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return fmt::format("{} | {} | ATen {} | LibTorch {}", host, cpu_model(), at::get_cpu_capability(), TORCH_VERSION);
}

MeasuredPeak measured_cpu_peak(at::ScalarType dtype, int threads, const fs::path& cache_file, const MatmulProbe& probe) {
  MeasuredPeak out;
  if (cache_file.empty()) {
    out.tflops = probe(dtype);
    out.note = "not cached: none of $AUTOMODEL_CACHE_DIR, $XDG_CACHE_HOME, $HOME is set";
    return out;
  }
  const auto key = entry_key(dtype, threads);
  nlohmann::json cache = nlohmann::json::object();
  if (fs::exists(cache_file)) {
    auto parsed = nlohmann::json::parse(read_file(cache_file), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
      out.note = fmt::format("{} is not a JSON object of measurements (corrupt); measured again", cache_file.string());
    } else {
      cache = std::move(parsed);
      if (cache.contains(key)) {
        const auto& entry = cache[key];
        if (entry.is_object() && entry.contains("tflops") && entry["tflops"].is_number() &&
            entry["tflops"].get<double>() > 0) {
          out.tflops = entry["tflops"].get<double>();
          out.cached = true;
          return out;
        }
        out.note = fmt::format("{}: entry '{}' has no positive 'tflops', found {} (corrupt); measured again",
                               cache_file.string(), key, entry.dump());
      }
    }
  }
  out.tflops = probe(dtype);
  cache[key] = {{"tflops", out.tflops}};
  try {
    fs::create_directories(cache_file.parent_path());
    write_file_atomic(cache_file, cache.dump(2) + "\n");
    out.stored = true;
  } catch (const std::exception& e) {
    out.note += fmt::format("{}could not write {}: {}", out.note.empty() ? "" : "; ", cache_file.string(), e.what());
  }
  return out;
}

std::optional<double> gpu_datasheet_tflops(const std::string& name) {
  auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  // Most specific first: PCIe/NVL parts run at lower clocks than the SXM ones.
  if (has("GB200")) return 2500.0;
  if (has("B200")) return 2250.0;
  if ((has("H100") || has("H200")) && has("NVL")) return 835.0;
  if (has("H100") && has("PCIe")) return 756.0;
  if (has("H100") || has("H200") || has("H800")) return 989.0;
  if (has("A100") || has("A800")) return 312.0;
  if (has("L40S")) return 362.0;
  return std::nullopt;
}

double resolve_peak_tflops(double configured, c10::Device device, at::ScalarType compute) {
  if (configured > 0) {
    log_info("mfu against benchmark.peak_tflops {} TFLOP/s", configured);
    return configured;
  }
  if (device.is_cuda()) {
#ifdef AUTOMODEL_WITH_CUDA
    const std::string name = at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->name;
    if (auto peak = gpu_datasheet_tflops(name)) {
      log_info("mfu against {} TFLOP/s, the dense bf16 peak of {} (NVIDIA datasheet; benchmark.peak_tflops overrides)",
               *peak, name);
      return *peak;
    }
    log_info("mfu not computed: {} is not in the datasheet table; set benchmark.peak_tflops", name);
#endif
    return 0;
  }
  const int threads = at::get_num_threads();
  const auto cache = peak_flops_cache_file();
  auto peak = measured_cpu_peak(compute, threads, cache);
  if (!peak.note.empty()) log_info("peak FLOP/s cache: {}", peak.note);
  const auto where = peak.cached   ? "cached in " + cache.string()
                    : peak.stored ? "measured now, cached in " + cache.string()
                                  : std::string("measured now, not cached");
  log_info("mfu against measured CPU peak {:.3g} TFLOP/s ({}, {} threads; {})", peak.tflops, scalar_type_name(compute),
           threads, where);
  return peak.tflops;
}

}  // namespace automodel::train
