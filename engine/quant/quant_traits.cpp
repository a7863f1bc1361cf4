#include "engine/quant/quant_traits.h"

#include <array>

#include "engine/quant/quant_float.h"
#include "engine/quant/quant_k.h"
#include "engine/quant/quant_legacy.h"

namespace quire::engine {
namespace {

// Activations of F32 weights stay f32.
void quantize_row_f32_act(const float* src, void* dst, int64_t n) {
  quantize_row_f32(src, dst, n);
}

constexpr std::array<QuantTraits, 13> kTraits = {{
    {GgmlType::F32, dequantize_row_f32, quantize_row_f32, GgmlType::F32, quantize_row_f32_act,
     vec_dot_f32_f32},
    {GgmlType::F16, dequantize_row_f16, quantize_row_f16, GgmlType::F16, quantize_row_f16,
     vec_dot_f16_f16},
    {GgmlType::BF16, dequantize_row_bf16, quantize_row_bf16, GgmlType::BF16, quantize_row_bf16,
     vec_dot_bf16_bf16},
    {GgmlType::Q4_0, dequantize_row_q4_0, quantize_row_q4_0, GgmlType::Q8_0, quantize_row_q8_0_act,
     vec_dot_q4_0_q8_0},
    {GgmlType::Q4_1, dequantize_row_q4_1, quantize_row_q4_1, GgmlType::Q8_1, quantize_row_q8_1_act,
     vec_dot_q4_1_q8_1},
    {GgmlType::Q5_0, dequantize_row_q5_0, quantize_row_q5_0, GgmlType::Q8_0, quantize_row_q8_0_act,
     vec_dot_q5_0_q8_0},
    {GgmlType::Q5_1, dequantize_row_q5_1, quantize_row_q5_1, GgmlType::Q8_1, quantize_row_q8_1_act,
     vec_dot_q5_1_q8_1},
    {GgmlType::Q8_0, dequantize_row_q8_0, quantize_row_q8_0, GgmlType::Q8_0, quantize_row_q8_0_act,
     vec_dot_q8_0_q8_0},
    {GgmlType::Q2_K, dequantize_row_q2_k, quantize_row_q2_k, GgmlType::Q8_K, quantize_row_q8_k,
     vec_dot_q2_k_q8_k},
    {GgmlType::Q3_K, dequantize_row_q3_k, quantize_row_q3_k, GgmlType::Q8_K, quantize_row_q8_k,
     vec_dot_q3_k_q8_k},
    {GgmlType::Q4_K, dequantize_row_q4_k, quantize_row_q4_k, GgmlType::Q8_K, quantize_row_q8_k,
     vec_dot_q4_k_q8_k},
    {GgmlType::Q5_K, dequantize_row_q5_k, quantize_row_q5_k, GgmlType::Q8_K, quantize_row_q8_k,
     vec_dot_q5_k_q8_k},
    {GgmlType::Q6_K, dequantize_row_q6_k, quantize_row_q6_k, GgmlType::Q8_K, quantize_row_q8_k,
     vec_dot_q6_k_q8_k},
}};

}  // namespace

std::span<const QuantTraits> quant_traits_table() {
  return kTraits;
}

const QuantTraits* quant_traits(GgmlType type) {
  for (const auto& t : kTraits) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

DequantizeRowFn dequantizer(GgmlType type) {
  if (const QuantTraits* t = quant_traits(type)) return t->dequantize;
  switch (type) {
    case GgmlType::Q8_1:
      return dequantize_row_q8_1;
    case GgmlType::Q8_K:
      return dequantize_row_q8_k;
    default:
      return nullptr;
  }
}

}  // namespace quire::engine
