#include "automodel/common/torch_util.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "automodel/common/error.h"
#include "automodel/common/string_util.h"

namespace automodel {
namespace {

// The storage type of the file's bytes: as to_scalar_type, except FP8, which LibTorch stores
// natively (OCP FP8: E4M3FN without inf, E5M2 IEEE-like) and converts exactly to wider types.
at::ScalarType storage_scalar_type(hf::DType dtype) {
  if (dtype == hf::DType::F8_E4M3) return at::kFloat8_e4m3fn;
  if (dtype == hf::DType::F8_E5M2) return at::kFloat8_e5m2;
  return to_scalar_type(dtype);
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
    case at::kFloat8_e4m3fn: return hf::DType::F8_E4M3;  // carried unchanged (e.g. FP8 MTP layers)
    case at::kFloat8_e5m2: return hf::DType::F8_E5M2;
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
  auto dtype = hf::parse_compute_dtype_alias(name);
  AM_CHECK(dtype, "[dtype] unknown compute dtype '{}', expected {}", name, hf::kComputeDtypeNames);
  return to_scalar_type(*dtype);
}

c10::Device parse_device(const std::string& name) {
  std::optional<c10::Device> parsed;
  try {
    parsed.emplace(name);
  } catch (const c10::Error&) {
  }
  AM_CHECK(parsed && (parsed->is_cpu() || parsed->is_cuda()), "[device] '{}': expected cpu, cuda or cuda:N", name);
  // Asked here, so a missing GPU is one line rather than LibTorch's driver message on first use.
  if (parsed->is_cuda()) {
    AM_CHECK(at::hasCUDA(), "[device] '{}': no CUDA GPU is available on this machine (expected cpu here)", name);
    auto count = static_cast<int64_t>(at::getNumGPUs());
    AM_CHECK(!parsed->has_index() || parsed->index() < count, "[device] '{}': expected cuda:0 to cuda:{} ({} GPU(s) visible)",
             name, count - 1, count);
  }
  return *parsed;
}

at::Tensor borrow_view(const hf::TensorView& view) {
  const auto& e = *view.entry;
  // from_blob wants a mutable pointer; the tensor is only ever read (copied from).
  auto keep_alive = view.keep_alive;
  return at::from_blob(const_cast<std::byte*>(view.data), e.shape, [keep_alive](void*) {},
                       at::TensorOptions().dtype(storage_scalar_type(e.dtype)));
}

void copy_view_into(const hf::TensorView& view, at::Tensor& dst) {
  const auto& e = *view.entry;
  AM_CHECK(dst.sizes().vec() == e.shape, "[load] {}: tensor '{}' has shape {}, expected {}", view.file->string(),
           e.name, format_shape(e.shape), format_shape(dst.sizes().vec()));
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
