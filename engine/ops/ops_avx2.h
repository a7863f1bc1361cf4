// AVX2 + FMA + F16C versions of the hot ops of ops.h. Same contracts as the functions of the same
// names there; call only when cpu_features().has_avx2_kernels() (ops.cpp chooses). Compiled with
// -mavx2 -mfma -mf16c (per-file flags). Tails are handled with masked loads and stores, so every
// element goes through the same vector arithmetic.
//
// Agreement with ops::ref (tested on random data, odd lengths included):
//   add, mul, scale, gelu_ggml, rmsnorm: identical floats (rmsnorm sums sequentially in double,
//     as ggml does);
//   layernorm: identical arithmetic except the order of the double-precision sums (relative
//     <= 1e-6);
//   softmax, silu, swiglu: compute e^x as llama.cpp's ggml_v_expf does (and softmax sums groups
//     of 8 in f32, the groups in double, as ggml), so they match llama.cpp bit for bit rather
//     than the std::exp reference (relative <= 2e-6).
#pragma once

#include <cstdint>

namespace quire::engine::ops::avx2 {

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);
void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);
void softmax(float* x, int64_t n, float scale, const float* mask);
void silu(const float* x, float* y, int64_t n);
void gelu_ggml(const float* x, float* y, int64_t n);
void swiglu(const float* g, const float* u, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
void scale(const float* x, float s, float* y, int64_t n);

// Attention vector kernels (vec_avx2.cpp): 4 independent FMA accumulators, so sums differ from
// the sequential references by rounding order only (relative ~1e-6 for n <= 256).
float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n);
void to_f16(const float* x, uint16_t* y, int64_t n);
float dot_f16_ggml(const uint16_t* a, const uint16_t* b, int64_t n);  // identical to ref's

// y = e^x, a vectorised exponential (not the one softmax/silu use); y may alias x. Within ~1 ulp of
// std::exp for normal results (see ops_avx2.cpp for the measured error), 0 below -103.97
// (where e^x rounds to zero), +inf above 88.72, NaN for NaN.
void exp_f32(const float* x, float* y, int64_t n);

}  // namespace quire::engine::ops::avx2

namespace quire::engine::ops::detail {

// The fp16 results of ggml's GELU for every fp16 input: entry h = fp16(gelu_tanh(fp16 value h)).
// Two zero entries follow the 65536, so a 32-bit gather at entry 65535 stays inside the table.
// Built once on first use (thread-safe); shared by ref::gelu_ggml and avx2::gelu_ggml.
inline constexpr int64_t kGeluTableEntries = 65536 + 2;
const uint16_t* gelu_ggml_table();

}  // namespace quire::engine::ops::detail
