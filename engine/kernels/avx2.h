// AVX2 + FMA + F16C kernels. Same contracts as the reference functions of the same names in
// engine/quant/quant_*.h; call only when cpu_features().has_avx2_kernels() (engine/kernels/
// kernels.h chooses). Compiled with -mavx2 -mfma -mf16c (per-file flags).
//
// Agreement with the reference, checked by tests on random data for every type:
//   activation quantizers: identical bytes (and identical to llama.cpp's x86 quantizers);
//   integer dot products: identical integer sums per block; the float accumulation may differ
//   in rounding (relative error <= 1e-5 of the sum of |terms|). Q4_0, Q5_0, Q8_0, Q4_K and Q6_K
//   round exactly as llama.cpp's x86 AVX2 kernels do (build 4748; Q4_0 as its repacked 8x8
//   kernels), which the conformance goldens rely on; the other types keep the reference's
//   rounding per block (a one-block row is bit-identical to the reference);
//   dequantizers: identical floats.
#pragma once

#include <cstdint>

namespace quire::engine::avx2 {

// Float types.
void dequantize_row_f16(const void* src, float* dst, int64_t n);
void quantize_row_f16(const float* src, void* dst, int64_t n);
void vec_dot_f32_f32(int64_t n, float* s, const void* w, const void* a);
void vec_dot_f16_f16(int64_t n, float* s, const void* w, const void* a);
void vec_dot_bf16_bf16(int64_t n, float* s, const void* w, const void* a);

// 32-weight block types.
void quantize_row_q8_0_act(const float* src, void* dst, int64_t n);
void quantize_row_q8_1_act(const float* src, void* dst, int64_t n);
void vec_dot_q4_0_q8_0(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q4_1_q8_1(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q5_0_q8_0(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q5_1_q8_1(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q8_0_q8_0(int64_t n, float* s, const void* w, const void* a);

// K-quants.
void quantize_row_q8_k(const float* src, void* dst, int64_t n);
void vec_dot_q2_k_q8_k(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q3_k_q8_k(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q4_k_q8_k(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q5_k_q8_k(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q6_k_q8_k(int64_t n, float* s, const void* w, const void* a);

}  // namespace quire::engine::avx2
