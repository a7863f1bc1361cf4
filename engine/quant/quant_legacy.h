// Reference code for the 32-weight block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (weights) and
// Q8_0 / Q8_1 (activations). Conventions in quant_float.h.
#pragma once

#include <cstdint>

namespace quire::engine {

void dequantize_row_q4_0(const void* src, float* dst, int64_t n);
void dequantize_row_q4_1(const void* src, float* dst, int64_t n);
void dequantize_row_q5_0(const void* src, float* dst, int64_t n);
void dequantize_row_q5_1(const void* src, float* dst, int64_t n);
void dequantize_row_q8_0(const void* src, float* dst, int64_t n);
void dequantize_row_q8_1(const void* src, float* dst, int64_t n);

// Weight quantizers: byte-identical to llama.cpp's reference quantizers (round to nearest).
void quantize_row_q4_0(const float* src, void* dst, int64_t n);
void quantize_row_q4_1(const float* src, void* dst, int64_t n);
void quantize_row_q5_0(const float* src, void* dst, int64_t n);
void quantize_row_q5_1(const float* src, void* dst, int64_t n);
void quantize_row_q8_0(const float* src, void* dst, int64_t n);

// Activation quantizers with the semantics of llama.cpp's x86 CPU backend at inference time:
// Q8_0: d = amax/127, q = round_half_even(x * (127/amax)); Q8_1 likewise plus s = d * sum(q).
// Fast paths must produce identical bytes.
void quantize_row_q8_0_act(const float* src, void* dst, int64_t n);
void quantize_row_q8_1_act(const float* src, void* dst, int64_t n);

// Dot products: integer sums per block, scaled by the block scales.
void vec_dot_q4_0_q8_0(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q4_1_q8_1(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q5_0_q8_0(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q5_1_q8_1(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q8_0_q8_0(int64_t n, float* s, const void* w, const void* a);

}  // namespace quire::engine
