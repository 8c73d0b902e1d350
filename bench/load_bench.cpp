// Loading a >= 1 GiB bf16 checkpoint with a warm page cache, next to `cat` of the same files.
// Target: load <= 1.5x cat. Usage: load_bench [DIR]   (DIR is created with random weights)
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "automodel/common/torch_util.h"
#include "automodel/models/registry.h"
#include "bench_util.h"

using namespace automodel;

int main(int argc, char** argv) {
  init_threads();
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
  std::vector<double> cat_times, load_times;
  for (int i = 0; i < 3; ++i) cat_times.push_back(bench::seconds_of(run_cat));
  for (int i = 0; i < 3; ++i)
    load_times.push_back(bench::seconds_of([&] {
      auto model = models::load_pretrained(dir, {at::kBFloat16, c10::Device(c10::kCPU)});
    }));
  double cat_best = *std::min_element(cat_times.begin(), cat_times.end());
  double load_best = *std::min_element(load_times.begin(), load_times.end());
  fmt::print("load_bench: {} (bf16, warm page cache, best of 3)\n", dir);
  fmt::print("  cat            {:.3f} s\n", cat_best);
  fmt::print("  automodel load {:.3f} s  ({:.2f}x cat; target <= 1.5x)\n", load_best, load_best / cat_best);
  return 0;
}
