#include "bench_util.h"

#include <fstream>
#include <sstream>

#include "automodel/common/atomic_file.h"
#include "automodel/common/torch_util.h"
#include "automodel/hf/model_config.h"
#include "automodel/models/common/weights.h"
#include "automodel/models/registry.h"

namespace automodel::bench {

double seconds_of(const std::function<void()>& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

void ensure_llama_folder(const std::filesystem::path& dir, const std::string& config_json, const std::string& dtype) {
  if (std::filesystem::exists(dir / "config.json")) return;
  std::filesystem::create_directories(dir);
  auto config = hf::parse_model_config(config_json, "bench config");
  auto model = models::build_model(config, parse_compute_dtype(dtype), c10::Device(c10::kCPU));
  models::init_random(*model, 1);
  models::save_weights(*model, dir, 1ull << 30);
  write_file_atomic(dir / "config.json", config_json);
}

}  // namespace automodel::bench
