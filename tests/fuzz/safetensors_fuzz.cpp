// libFuzzer target: arbitrary bytes as a safetensors file. The parser must either accept the
// input with every tensor inside the buffer or throw automodel::Error; anything else (crash,
// other exception, sanitizer report) is a bug. Build and run: scripts/fuzz.sh
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "automodel/common/error.h"
#include "automodel/hf/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto parsed = automodel::hf::parse_safetensors_buffer(data, size, "fuzz-input");
    for (const auto& t : parsed.header.tensors)
      if (parsed.data_start + t.end > size) std::abort();
  } catch (const automodel::Error&) {
  }
  return 0;
}
