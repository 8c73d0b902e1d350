// 64-bit FNV-1a over a sequence of byte strings: cheap content keys (the dataset cache key, the
// check that every rank runs the same recipe). Not for security.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace automodel {

struct Fnv1a {
  uint64_t h = 1469598103934665603ull;
  // Each part ends with a separator, so ("ab", "c") and ("a", "bc") differ.
  void add(std::string_view bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  }
  std::string hex() const { return fmt::format("{:016x}", h); }
};

}  // namespace automodel
