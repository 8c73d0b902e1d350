// Shared benchmark helpers: wall-clock timing, peak memory, synthetic Llama model folders.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace automodel::bench {

double seconds_of(const std::function<void()>& fn);
double peak_rss_mib();  // VmHWM of this process
// Writes config.json + random weights (dtype "bf16"/"fp32") for a Llama config unless present.
void ensure_llama_folder(const std::filesystem::path& dir, const std::string& config_json, const std::string& dtype);

}  // namespace automodel::bench
