// The peak FLOP/s that MFU is measured against: benchmark.peak_tflops when set; on CUDA the
// device's dense bf16 datasheet figure; on CPU a short matmul probe in the run's compute dtype,
// cached per machine, dtype and thread count under the user's cache folder.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace automodel::train {

// TFLOP/s of at::mm on square matrices in `dtype` with this process's threads: a fraction of a
// second (the size grows until one product is long enough to time, best of a few).
double probe_matmul_tflops(at::ScalarType dtype);
using MatmulProbe = std::function<double(at::ScalarType)>;

// $AUTOMODEL_CACHE_DIR/peak_flops.json, else $XDG_CACHE_HOME/automodel/, else ~/.cache/automodel/;
// empty when none of them is set.
std::filesystem::path peak_flops_cache_file();

// This machine, as far as the speed of a matmul goes: host, CPU model, ATen's kernel ISA, LibTorch.
std::string machine_key();

struct MeasuredPeak {
  double tflops = 0;
  bool cached = false;  // read from the cache file, no probe ran
  bool stored = false;  // probed and written to the cache file
  std::string note;     // why the cache was not used or not written ("" when all went well)
};

// The CPU peak for `dtype` at `threads`, from `cache_file` (keyed by machine_key(), dtype and
// threads) or probed and then written there atomically. A corrupt cache is measured again and
// rewritten; an empty `cache_file` probes every time.
MeasuredPeak measured_cpu_peak(at::ScalarType dtype, int threads, const std::filesystem::path& cache_file,
                               const MatmulProbe& probe = probe_matmul_tflops);

// Dense bf16 tensor-core TFLOP/s from NVIDIA's datasheets for a device name as CUDA reports it
// ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", ...); nullopt for devices not in the table.
std::optional<double> gpu_datasheet_tflops(const std::string& device_name);

// The peak for this run's MFU (0: unknown, mfu is logged as "-"), logged once saying where it
// comes from: `configured` (benchmark.peak_tflops) > the GPU table > the measured CPU peak.
double resolve_peak_tflops(double configured, c10::Device device, at::ScalarType compute);

}  // namespace automodel::train
