// CRC-32C (Castagnoli), the checksum of TFRecord / TensorBoard event files, and the "masked"
// form those files store (so a CRC of data that itself holds CRCs stays well distributed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace automodel {

uint32_t crc32c(const void* data, size_t size);
inline uint32_t crc32c(std::string_view s) { return crc32c(s.data(), s.size()); }
// TFRecord's mask: rotate right by 15 bits and add a constant.
inline uint32_t masked_crc32c(std::string_view s) {
  uint32_t crc = crc32c(s);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace automodel
