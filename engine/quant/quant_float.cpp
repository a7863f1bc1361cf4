// Reference row functions for F32, F16 and BF16: one element per "block", so rows are plain
// arrays of n values. The dot products accumulate in double so that they can serve as the oracle
// for the f32-accumulating fast paths.
#include "engine/quant/quant_float.h"

#include <cstring>

#include "engine/quant/fp16.h"

namespace quire::engine {

void dequantize_row_f32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void quantize_row_f32(const float* src, void* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void dequantize_row_f16(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(x[i]);
}

void quantize_row_f16(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(src[i]);
}

void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(x[i]);
}

void quantize_row_bf16(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(src[i]);
}

// s = sum_i w[i] * a[i]; products of two floats are exact in double, so the only rounding is
// in the additions (and the final cast).
void vec_dot_f32_f32(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  *s = static_cast<float>(sum);
}

void vec_dot_f16_f16(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sum += static_cast<double>(fp16_to_fp32(x[i])) * static_cast<double>(fp16_to_fp32(y[i]));
  }
  *s = static_cast<float>(sum);
}

void vec_dot_bf16_bf16(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sum += static_cast<double>(bf16_to_fp32(x[i])) * static_cast<double>(bf16_to_fp32(y[i]));
  }
  *s = static_cast<float>(sum);
}

}  // namespace quire::engine
