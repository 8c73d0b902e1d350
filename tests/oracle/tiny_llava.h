// The tiny LLaVA folder tests/oracles/tiny_llava.py writes (transformers' LlavaForConditionalGeneration,
// its LlavaProcessor and a chat template), made once per test binary in a temp folder.
#pragma once

#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "test_util.h"

namespace automodel::testing {

inline const std::filesystem::path& tiny_llava_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / fmt::format("automodel_tiny_llava_{}", ::getpid());
    std::filesystem::remove_all(d);
    auto r = run_command("'" + python() + "' '" + oracle_script("tiny_llava.py").string() + "' '" + d.string() + "' 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("tiny_llava.py failed:\n" + r.output);
    return d;
  }();
  return dir;
}

inline std::filesystem::path vlm_demo_rows() { return fixtures_dir() / "datasets" / "vlm_demo" / "mllm_demo.json"; }

}  // namespace automodel::testing
