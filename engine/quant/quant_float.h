// Reference row functions for the float types F32, F16 and BF16.
//
// Conventions shared by every quant_*.h header (n = number of weights in the row, a multiple of
// the type's block size; pointers are to packed blocks):
//   dequantize_row_T(src, dst, n)   blocks -> n floats (exact; a pure function of the bytes)
//   quantize_row_T(src, dst, n)     n floats -> blocks (weights: best-quality reference quantizer)
//   vec_dot_T_U(n, &s, w, a)        s = dot(one weight row of type T, one activation row of type U)
// The activation type U of a weight type T is its "vec_dot_type" (quant_traits.h).
#pragma once

#include <cstdint>

namespace quire::engine {

void dequantize_row_f32(const void* src, float* dst, int64_t n);
void quantize_row_f32(const float* src, void* dst, int64_t n);
void dequantize_row_f16(const void* src, float* dst, int64_t n);
void quantize_row_f16(const float* src, void* dst, int64_t n);
void dequantize_row_bf16(const void* src, float* dst, int64_t n);
void quantize_row_bf16(const float* src, void* dst, int64_t n);

// Products accumulate in double in the reference (the oracle); fast paths accumulate in f32.
void vec_dot_f32_f32(int64_t n, float* s, const void* w, const void* a);
void vec_dot_f16_f16(int64_t n, float* s, const void* w, const void* a);
void vec_dot_bf16_bf16(int64_t n, float* s, const void* w, const void* a);

}  // namespace quire::engine
