// Reference code for the K-quants (256-weight super-blocks): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K
// (weights) and Q8_K (activations). Conventions in quant_float.h.
#pragma once

#include <cstdint>

namespace quire::engine {

void dequantize_row_q2_k(const void* src, float* dst, int64_t n);
void dequantize_row_q3_k(const void* src, float* dst, int64_t n);
void dequantize_row_q4_k(const void* src, float* dst, int64_t n);
void dequantize_row_q5_k(const void* src, float* dst, int64_t n);
void dequantize_row_q6_k(const void* src, float* dst, int64_t n);
void dequantize_row_q8_k(const void* src, float* dst, int64_t n);

// Weight quantizers: search sub-block scales (and mins) to minimize weighted squared error, then
// quantize the scales and re-fit the weights to the quantized scales. Deterministic.
void quantize_row_q2_k(const float* src, void* dst, int64_t n);
void quantize_row_q3_k(const float* src, void* dst, int64_t n);
void quantize_row_q4_k(const float* src, void* dst, int64_t n);
void quantize_row_q5_k(const float* src, void* dst, int64_t n);
void quantize_row_q6_k(const float* src, void* dst, int64_t n);

// Activation quantizer with llama.cpp's semantics (x86 uses the reference code):
// iscale = -127/max where max is the signed element of largest magnitude, q = nearest_int(iscale*x)
// clamped to 127, d = 1/iscale, bsums = sums of 16 consecutive q.
void quantize_row_q8_k(const float* src, void* dst, int64_t n);

void vec_dot_q2_k_q8_k(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q3_k_q8_k(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q4_k_q8_k(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q5_k_q8_k(int64_t n, float* s, const void* w, const void* a);
void vec_dot_q6_k_q8_k(int64_t n, float* s, const void* w, const void* a);

}  // namespace quire::engine
