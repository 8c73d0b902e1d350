// Loading a >= 1 GiB bf16 checkpoint with a warm page cache, next to `cat` of the same files.
// Each load runs in a fresh process (what a user sees: no allocator reuse between trials).
// Target: load <= 1.5x cat. Usage: load_bench [DIR]   (DIR is created with random weights)
#include <ATen/ops/sum.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "automodel/common/torch_util.h"
#include "automodel/models/registry.h"
#include "bench_util.h"

using namespace automodel;

namespace {

// Child mode: one load, prints seconds. "copy" = trainable parameters, "borrow" = zero-copy
// read-only weights, "borrow+touch" = zero-copy and then reading every weight once.
int child(const std::string& dir, const std::string& mode) {
  init_threads();
  models::LoadOptions options{at::kBFloat16, c10::Device(c10::kCPU), mode != "copy"};
  double secs = bench::seconds_of([&] {
    auto model = models::load_pretrained(dir, options);
    if (mode == "borrow+touch") {
      double total = 0;
      for (const auto& p : model->named_parameters()) total += p.tensor->sum().item<double>();
      if (total == 12345.678) std::puts("");  // keep the reads
    }
  });
  std::printf("%.6f\n", secs);
  return 0;
}

double run_child(const std::string& self, const std::string& dir, const std::string& mode) {
  std::string cmd = fmt::format("{} --child {} {} 2>/dev/null", self, mode, dir);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  double secs = -1;
  if (pipe && std::fscanf(pipe, "%lf", &secs) != 1) secs = -1;
  if (pipe) ::pclose(pipe);
  return secs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--child") return child(argv[3], argv[2]);
  std::string dir = argc > 1 ? argv[1] : "/tmp/automodel_bench_load_llama_bf16";
  // TinyLlama shape, 12 layers: ~0.7B parameters, ~1.3 GiB in bf16 (two shards).
  const std::string config = R"({"model_type": "llama", "vocab_size": 32000, "hidden_size": 2048,
      "intermediate_size": 5632, "num_hidden_layers": 12, "num_attention_heads": 32, "num_key_value_heads": 4,
      "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "torch_dtype": "bfloat16"})";
  bench::ensure_llama_folder(dir, config, "bf16");
  std::string cat = fmt::format("cat {}/*.safetensors > /dev/null", dir);
  auto run_cat = [&] {
    if (std::system(cat.c_str()) != 0) std::abort();
  };
  run_cat();  // warm the page cache
  auto best = [](std::vector<double> v) { return *std::min_element(v.begin(), v.end()); };
  std::vector<double> cat_times;
  for (int i = 0; i < 3; ++i) cat_times.push_back(bench::seconds_of(run_cat));
  double cat_best = best(cat_times);
  fmt::print("load_bench: {} (bf16, warm page cache, fresh process per load, best of 3)\n", dir);
  fmt::print("  cat                                  {:.3f} s\n", cat_best);
  for (const char* mode : {"copy", "borrow", "borrow+touch"}) {
    std::vector<double> times;
    for (int i = 0; i < 3; ++i) times.push_back(run_child(argv[0], dir, mode));
    double t = best(times);
    const char* what = std::string(mode) == "copy" ? "load, trainable copy" :
                       std::string(mode) == "borrow" ? "load, zero-copy (read-only)" : "load, zero-copy + read all";
    fmt::print("  automodel {:<28}{:.3f} s  ({:.2f}x cat; target <= 1.5x)\n", what, t, t / cat_best);
  }
  return 0;
}
