// libFuzzer target: arbitrary bytes as a PEFT adapter_config.json (hf::parse_adapter_config, the
// part of peft::load_adapter that reads the file). Must either accept or throw automodel::Error.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "automodel/common/error.h"
#include "automodel/hf/adapter_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto config = automodel::hf::parse_adapter_config(std::string(reinterpret_cast<const char*>(data), size),
                                                      "adapter_config.json");
    if (config.r < 1 || !std::isfinite(config.effective_alpha())) std::abort();
  } catch (const automodel::Error&) {
  }
  return 0;
}
