#include "automodel/common/protobuf_writer.h"

#include <cstring>

namespace automodel::proto {
namespace {

void put_key(std::string& out, int field, int wire) { put_varint(out, static_cast<uint64_t>(field) << 3 | wire); }

template <typename T>
void put_le(std::string& out, T v) {  // x86/ARM hosts are little-endian, as the wire format
  char raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  out.append(raw, sizeof(T));
}

}  // namespace

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

Writer& Writer::varint(int field, uint64_t v) {
  put_key(out_, field, 0);
  put_varint(out_, v);
  return *this;
}

Writer& Writer::fixed64(int field, uint64_t v) {
  put_key(out_, field, 1);
  put_le(out_, v);
  return *this;
}

Writer& Writer::fixed32(int field, uint32_t v) {
  put_key(out_, field, 5);
  put_le(out_, v);
  return *this;
}

Writer& Writer::f64(int field, double v) {
  put_key(out_, field, 1);
  put_le(out_, v);
  return *this;
}

Writer& Writer::f32(int field, float v) {
  put_key(out_, field, 5);
  put_le(out_, v);
  return *this;
}

Writer& Writer::bytes(int field, std::string_view v) {
  put_key(out_, field, 2);
  put_varint(out_, v.size());
  out_.append(v);
  return *this;
}

}  // namespace automodel::proto
