// Elementwise and reduction ops on f32 rows, the pieces every architecture is built from.
//
// Each op has a plain reference in namespace `ref` (the oracle, written for clarity) and a public
// entry point that runs an AVX2 version where it matters (when cpu_features() allows) or the
// reference otherwise. Results of AVX2 versions agree with the reference within a stated relative
// tolerance (tested). All functions are thread-safe and allocate nothing; in-place use (y == x)
// is allowed where noted.
#pragma once

#include <cstdint>

#include "engine/quant/ggml_type.h"

namespace quire::engine::ops {

// y = x / sqrt(mean(x^2) + eps) * w           (w may be nullptr: no weight). y may alias x.
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);
// y = (x - mean) / sqrt(var + eps) * w + b    (biased variance; w, b may be nullptr). y may alias
// x.
void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);

// Rotary position embedding of one token's heads, in place. x holds n_head heads of head_dim
// floats; the first n_rot dims of each head rotate (n_rot <= head_dim, even), with
// theta_i = pos * freq_base^(-2i/n_rot) for i < n_rot/2.
//   kAdjacentPairs: rotate (x[2i], x[2i+1])       (llama, "NORM" mode)
//   kHalves:        rotate (x[i], x[i + n_rot/2])  (qwen2, qwen3, phi3, gemma, "NEOX" mode)
enum class RopeStyle { kAdjacentPairs, kHalves };
void rope(float* x, int64_t n_head, int64_t head_dim, int64_t n_rot, int64_t pos, float freq_base,
          RopeStyle style);

// In place: x = softmax(x * scale + mask); mask (additive, may hold -INFINITY) may be nullptr.
// A row that is entirely -INFINITY after masking becomes all zeros.
void softmax(float* x, int64_t n, float scale, const float* mask);

// Activations, y may alias x.
void silu(const float* x, float* y, int64_t n);       // x * sigmoid(x)
void gelu_erf(const float* x, float* y, int64_t n);   // 0.5 x (1 + erf(x / sqrt 2))
void gelu_tanh(const float* x, float* y, int64_t n);  // tanh approximation
// ggml's CPU GELU: for -10 < x < 10, fp16(gelu_tanh(fp16(x))) (a table over all fp16 inputs);
// 0 for x <= -10 and x for x >= 10. Matches llama.cpp's BERT outputs exactly.
void gelu_ggml(const float* x, float* y, int64_t n);
// y = silu(g) * u (the SwiGLU FFN gate), y may alias g or u.
void swiglu(const float* g, const float* u, float* y, int64_t n);

void add(const float* a, const float* b, float* y, int64_t n);  // y = a + b
void mul(const float* a, const float* b, float* y, int64_t n);  // y = a * b
void scale(const float* x, float s, float* y, int64_t n);       // y = s * x

// Embedding lookup: for each of n_ids ids, dequantize row ids[i] of a [n_embd, n_rows] matrix of
// `type` (any type with a dequantizer) into out + i * n_embd. Ids must be < n_rows (checked by
// the caller).
void get_rows(GgmlType type, const void* data, int64_t n_embd, const int32_t* ids, int64_t n_ids,
              float* out);

// Vector kernels of attention over cached K/V rows (f32 accumulation; fp16 values are IEEE
// binary16 bit patterns). y may not alias x.
float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);     // y = fma(a, x, y)
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n);  // y = fma(a, f32(x), y)
void to_f16(const float* x, uint16_t* y, int64_t n);             // round to nearest even
// The dot product in the order of ggml's ggml_vec_dot_f16 (4 x 8 FMA accumulators over steps of
// 32, reduced (a0 + a2) + (a1 + a3), lanes l + l+4, then (0 + 1) + (2 + 3); a tail of n % 32
// added in double): what llama.cpp's single-token attention computes. Identical in ref and AVX2.
float dot_f16_ggml(const uint16_t* a, const uint16_t* b, int64_t n);

namespace ref {
float dot_f16_ggml(const uint16_t* a, const uint16_t* b, int64_t n);
float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n);
void to_f16(const float* x, uint16_t* y, int64_t n);
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);
void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);
void rope(float* x, int64_t n_head, int64_t head_dim, int64_t n_rot, int64_t pos, float freq_base,
          RopeStyle style);
void softmax(float* x, int64_t n, float scale, const float* mask);
void silu(const float* x, float* y, int64_t n);
void gelu_erf(const float* x, float* y, int64_t n);
void gelu_tanh(const float* x, float* y, int64_t n);
void gelu_ggml(const float* x, float* y, int64_t n);
void swiglu(const float* g, const float* u, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
void scale(const float* x, float s, float* y, int64_t n);
}  // namespace ref

}  // namespace quire::engine::ops
