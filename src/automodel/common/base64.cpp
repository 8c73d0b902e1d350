#include "automodel/common/base64.h"

#include <array>
#include <cstdint>

#include "automodel/common/error.h"

namespace automodel {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  static constexpr auto kTable = decode_table();
  AM_CHECK(text.size() % 4 == 0, "[base64] expected a length that is a multiple of 4, found {}", text.size());
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t v = 0;
  size_t n = text.size() - padding;
  for (size_t i = 0; i < n; ++i) {
    int8_t d = kTable[static_cast<uint8_t>(text[i])];
    AM_CHECK(d >= 0, "[base64] invalid character at offset {}", i);
    v = (v << 6) | static_cast<uint32_t>(d);
    if (i % 4 == 3) {
      out += char(v >> 16);
      out += char(v >> 8);
      out += char(v);
      v = 0;
    }
  }
  if (padding == 2) out += char(v >> 4);
  if (padding == 1) {
    out += char(v >> 10);
    out += char(v >> 2);
  }
  return out;
}

}  // namespace automodel
