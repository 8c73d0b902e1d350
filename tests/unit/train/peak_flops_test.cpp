// The peak MFU is measured against: the CPU probe's cache (written, reused, re-measured when
// corrupt) and the GPU datasheet table. (MFU in a CPU training log: integration/finetune_test.cpp.)
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "automodel/common/atomic_file.h"
#include "automodel/train/peak_flops.h"
#include "test_util.h"

namespace automodel {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// A probe that counts its calls instead of timing anything.
struct CountingProbe {
  int calls = 0;
  train::MatmulProbe fn() {
    return [this](at::ScalarType) {
      ++calls;
      return 1.5;
    };
  }
};

TEST(PeakFlops, CacheIsWrittenThenReusedWithoutProbingPerDtypeAndThreads) {
  TempDir dir;
  const auto cache = dir / "automodel" / "peak_flops.json";
  CountingProbe probe;
  auto first = train::measured_cpu_peak(at::kBFloat16, 2, cache, probe.fn());
  EXPECT_EQ(probe.calls, 1);
  EXPECT_DOUBLE_EQ(first.tflops, 1.5);
  EXPECT_FALSE(first.cached);
  EXPECT_TRUE(first.stored);
  EXPECT_TRUE(first.note.empty()) << first.note;
  ASSERT_TRUE(fs::exists(cache));
  auto again = train::measured_cpu_peak(at::kBFloat16, 2, cache, probe.fn());
  EXPECT_EQ(probe.calls, 1) << "the second call probed again";
  EXPECT_TRUE(again.cached);
  EXPECT_DOUBLE_EQ(again.tflops, 1.5);
  // Another dtype or thread count is another measurement, kept beside the first.
  train::measured_cpu_peak(at::kFloat, 2, cache, probe.fn());
  train::measured_cpu_peak(at::kBFloat16, 1, cache, probe.fn());
  EXPECT_EQ(probe.calls, 3);
  auto json = nlohmann::json::parse(read_file(cache));
  EXPECT_EQ(json.size(), 3u);
  EXPECT_TRUE(json.contains(train::machine_key() + " | bf16 | 2 threads")) << json.dump(1);
}

TEST(PeakFlops, ACorruptCacheIsMeasuredAgainWithANoteAndRewritten) {
  TempDir dir;
  const auto cache = dir / "peak_flops.json";
  write_file_atomic(cache, "{\"truncated");
  CountingProbe probe;
  auto peak = train::measured_cpu_peak(at::kFloat, 2, cache, probe.fn());
  EXPECT_EQ(probe.calls, 1);
  EXPECT_NE(peak.note.find(cache.string() + " is not a JSON object of measurements (corrupt); measured again"),
            std::string::npos)
      << peak.note;
  EXPECT_TRUE(peak.stored);
  // A bad entry (not a positive number) is measured again too.
  auto json = nlohmann::json::parse(read_file(cache));
  const auto key = train::machine_key() + " | fp32 | 2 threads";
  ASSERT_TRUE(json.contains(key));
  json[key]["tflops"] = "fast";
  write_file_atomic(cache, json.dump());
  peak = train::measured_cpu_peak(at::kFloat, 2, cache, probe.fn());
  EXPECT_EQ(probe.calls, 2);
  EXPECT_NE(peak.note.find("has no positive 'tflops', found {\"tflops\":\"fast\"}"), std::string::npos) << peak.note;
  EXPECT_TRUE(train::measured_cpu_peak(at::kFloat, 2, cache, probe.fn()).cached);
}

TEST(PeakFlops, TheMatmulProbeMeasuresSomethingPositiveQuickly) {
  auto start = std::chrono::steady_clock::now();
  double tflops = train::probe_matmul_tflops(at::kFloat);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(tflops, 0.0);
  EXPECT_LT(tflops, 1000.0);
  EXPECT_LT(seconds, 3.0);
}

TEST(PeakFlops, GpuDatasheetTableKnowsTheDeviceNamesCudaReports) {
  EXPECT_EQ(train::gpu_datasheet_tflops("NVIDIA H100 80GB HBM3"), 989.0);
  EXPECT_EQ(train::gpu_datasheet_tflops("NVIDIA H200"), 989.0);
  EXPECT_EQ(train::gpu_datasheet_tflops("NVIDIA H100 PCIe"), 756.0);
  EXPECT_EQ(train::gpu_datasheet_tflops("NVIDIA H100 NVL"), 835.0);
  EXPECT_EQ(train::gpu_datasheet_tflops("NVIDIA A100-SXM4-80GB"), 312.0);
  EXPECT_EQ(train::gpu_datasheet_tflops("NVIDIA B200"), 2250.0);
  EXPECT_EQ(train::gpu_datasheet_tflops("NVIDIA GB200"), 2500.0);
  EXPECT_FALSE(train::gpu_datasheet_tflops("NVIDIA GeForce GTX 1080").has_value());
}

}  // namespace
}  // namespace automodel
