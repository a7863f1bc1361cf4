// The traits table of the quantization types quire computes with: one entry per weight type
// with its reference functions and the activation type its dot product pairs with.
// Fast kernels live in engine/kernels (kernels.h picks per CPU); these are the oracles.
#pragma once

#include <cstdint>
#include <span>

#include "engine/quant/ggml_type.h"

namespace quire::engine {

using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);
// *s = dot(weight row w of n weights, activation row a of the partner type).
using VecDotFn = void (*)(int64_t n, float* s, const void* w, const void* a);
// Tokens one vec_dot_multi call handles at most.
inline constexpr int kMaxMultiTokens = 8;
using VecDotMultiFn = void (*)(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                               size_t a_stride, int n_tokens);

struct QuantTraits {
  GgmlType type;
  DequantizeRowFn dequantize;  // exact
  QuantizeRowFn quantize;      // the weight quantizer (quire quantize)
  // The type activations are converted to before the dot product (llama.cpp's vec_dot_type):
  // F32 for F32, F16 for F16, BF16 for BF16, Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1,
  // Q8_K for the K-quants.
  GgmlType vec_dot_type;
  QuantizeRowFn quantize_activation;  // f32 -> vec_dot_type, inference-time semantics
  VecDotFn vec_dot;
};

// Every weight type quire computes with: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
std::span<const QuantTraits> quant_traits_table();

// The entry for a type, or nullptr when quire cannot compute with it (IQ*, Q8_K, ...).
const QuantTraits* quant_traits(GgmlType type);

// Dequantizer for any type that has one, activation types (Q8_0, Q8_1, Q8_K) included.
DequantizeRowFn dequantizer(GgmlType type);

}  // namespace quire::engine
