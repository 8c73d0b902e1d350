#include "automodel/common/torch_util.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel {
namespace {

// FP8 -> float, bit-exact per the OCP FP8 spec (E4M3FN: no inf, 0x7F/0xFF NaN).
float decode_fp8(uint8_t bits, bool e4m3) {
  const int exp_bits = e4m3 ? 4 : 5, man_bits = e4m3 ? 3 : 2, bias = e4m3 ? 7 : 15;
  const float sign = (bits & 0x80) ? -1.f : 1.f;
  const int exp = (bits >> man_bits) & ((1 << exp_bits) - 1);
  const int man = bits & ((1 << man_bits) - 1);
  if (e4m3 && exp == 15 && man == 7) return NAN;
  if (!e4m3 && exp == 31) return man ? NAN : sign * INFINITY;
  if (exp == 0) return sign * std::ldexp(static_cast<float>(man), 1 - bias - man_bits);
  return sign * std::ldexp(1.f + static_cast<float>(man) / (1 << man_bits), exp - bias);
}

}  // namespace

at::ScalarType to_scalar_type(hf::DType dtype) {
  switch (dtype) {
    case hf::DType::F64: return at::kDouble;
    case hf::DType::F32: return at::kFloat;
    case hf::DType::F16: return at::kHalf;
    case hf::DType::BF16: return at::kBFloat16;
    case hf::DType::I64: return at::kLong;
    case hf::DType::I32: return at::kInt;
    case hf::DType::I16: return at::kShort;
    case hf::DType::I8: return at::kChar;
    case hf::DType::U8: return at::kByte;
    case hf::DType::BOOL: return at::kBool;
    case hf::DType::F8_E4M3:
    case hf::DType::F8_E5M2: return at::kFloat;
  }
  AM_FAIL("[dtype] unhandled safetensors dtype");
}

hf::DType to_hf_dtype(at::ScalarType type) {
  switch (type) {
    case at::kDouble: return hf::DType::F64;
    case at::kFloat: return hf::DType::F32;
    case at::kHalf: return hf::DType::F16;
    case at::kBFloat16: return hf::DType::BF16;
    case at::kLong: return hf::DType::I64;
    case at::kInt: return hf::DType::I32;
    case at::kShort: return hf::DType::I16;
    case at::kChar: return hf::DType::I8;
    case at::kByte: return hf::DType::U8;
    case at::kBool: return hf::DType::BOOL;
    default: AM_FAIL("[dtype] tensor type {} has no safetensors dtype", c10::toString(type));
  }
}

std::string scalar_type_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "fp32";
    case at::kBFloat16: return "bf16";
    case at::kHalf: return "fp16";
    case at::kDouble: return "fp64";
    default: return c10::toString(type);
  }
}

at::ScalarType parse_compute_dtype(const std::string& name) {
  auto dtype = hf::parse_dtype_alias(name);
  AM_CHECK(dtype && (*dtype == hf::DType::F32 || *dtype == hf::DType::BF16 || *dtype == hf::DType::F16 ||
                     *dtype == hf::DType::F64),
           "[dtype] unknown compute dtype '{}', expected fp32, bf16 or fp16", name);
  return to_scalar_type(*dtype);
}

c10::Device parse_device(const std::string& name) {
  try {
    c10::Device device(name);
    AM_CHECK(device.is_cpu() || device.is_cuda(), "[device] '{}': expected cpu, cuda or cuda:N", name);
    return device;
  } catch (const c10::Error&) {
    AM_FAIL("[device] '{}': expected cpu, cuda or cuda:N", name);
  }
}

at::Tensor borrow_view(const hf::TensorView& view) {
  const auto& e = *view.entry;
  AM_CHECK(e.dtype != hf::DType::F8_E4M3 && e.dtype != hf::DType::F8_E5M2,
           "[safetensors] {}: '{}' is FP8 and cannot be borrowed without decoding", view.file->string(), e.name);
  // from_blob wants a mutable pointer; the tensor is only ever read (copied from).
  auto keep_alive = view.keep_alive;
  return at::from_blob(const_cast<std::byte*>(view.data), e.shape, [keep_alive](void*) {},
                       at::TensorOptions().dtype(to_scalar_type(e.dtype)));
}

void copy_view_into(const hf::TensorView& view, at::Tensor& dst) {
  const auto& e = *view.entry;
  AM_CHECK(dst.sizes().vec() == e.shape, "[load] {}: tensor '{}' has shape {}, expected {}", view.file->string(),
           e.name, format_shape(e.shape), format_shape(dst.sizes().vec()));
  if (e.dtype == hf::DType::F8_E4M3 || e.dtype == hf::DType::F8_E5M2) {
    auto decoded = at::empty(e.shape, at::TensorOptions().dtype(at::kFloat));
    float* out = decoded.data_ptr<float>();
    const auto* in = reinterpret_cast<const uint8_t*>(view.data);
    bool e4m3 = e.dtype == hf::DType::F8_E4M3;
    for (int64_t i = 0; i < e.numel(); ++i) out[i] = decode_fp8(in[i], e4m3);
    dst.copy_(decoded);
    return;
  }
  dst.copy_(borrow_view(view));
}

at::Tensor tensor_from_view(const hf::TensorView& view, at::ScalarType type, c10::Device device) {
  auto out = at::empty(view.entry->shape, at::TensorOptions().dtype(type).device(device));
  copy_view_into(view, out);
  return out;
}

void init_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  at::set_num_threads(threads);
}

}  // namespace automodel
