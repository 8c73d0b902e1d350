// A tiny protobuf wire-format writer for the few messages we emit by hand (TensorBoard events,
// W&B transaction-log records), so the product needs no protobuf library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace automodel::proto {

// Appends fields to a message buffer. Keys are (field << 3 | wire type); wire types: 0 varint,
// 1 fixed64, 2 length-delimited, 5 fixed32. Fixed-width values are little-endian, as the hosts.
class Writer {
 public:
  Writer& varint(int field, uint64_t v);  // int32/int64/uint64/bool/enum (negative ints: 10 bytes)
  Writer& boolean(int field, bool v) { return varint(field, v ? 1 : 0); }
  Writer& fixed64(int field, uint64_t v);
  Writer& fixed32(int field, uint32_t v);
  Writer& f64(int field, double v);  // proto `double`
  Writer& f32(int field, float v);   // proto `float`
  Writer& bytes(int field, std::string_view v);  // string, bytes or an encoded sub-message
  Writer& message(int field, const Writer& sub) { return bytes(field, sub.str()); }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void put_varint(std::string& out, uint64_t v);

}  // namespace automodel::proto
