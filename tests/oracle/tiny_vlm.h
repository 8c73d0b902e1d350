// The tiny VLM folders tests/oracles/tiny_vlm.py writes (transformers' LlavaForConditionalGeneration or
// Qwen2VLForConditionalGeneration, its processor and a chat template), each made once per test
// binary in a temp folder.
#pragma once

#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "test_util.h"

namespace automodel::testing {

// `family`: llava, qwen2_vl or gemma3. `perturbed`: weights moved off HF's small init, so that
// attention, and with it every position, shapes the outputs (generation tests).
inline std::filesystem::path tiny_vlm_dir(const std::string& family, bool perturbed = false) {
  const auto name = family + (perturbed ? "_perturbed" : "");
  auto d = std::filesystem::temp_directory_path() / fmt::format("automodel_tiny_{}_{}", name, ::getpid());
  if (std::filesystem::exists(d / "model.safetensors")) return d;
  std::filesystem::remove_all(d);
  auto r = run_command("'" + python() + "' '" + oracle_script("tiny_vlm.py").string() + "' '" + d.string() +
                       "' --family " + family + (perturbed ? " --perturb" : "") + " 2>&1");
  if (r.exit_code != 0) throw std::runtime_error("tiny_vlm.py failed:\n" + r.output);
  return d;
}

inline std::filesystem::path tiny_llava_dir() { return tiny_vlm_dir("llava"); }

inline std::filesystem::path vlm_demo_rows() { return fixtures_dir() / "datasets" / "vlm_demo" / "mllm_demo.json"; }

}  // namespace automodel::testing
