#include "engine/kernels/kernels.h"

#include "engine/core/cpu_features.h"
#include "engine/kernels/avx2.h"
#include "engine/quant/quant_k.h"
#include "engine/quant/quant_legacy.h"

namespace quire::engine {

namespace avx2 {  // avx2_multi.cpp
void vec_dot_multi_q5_0_q8_0(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                             size_t a_stride, int n_tokens);
void vec_dot_multi_q8_0_q8_0(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                             size_t a_stride, int n_tokens);
void vec_dot_multi_q6_k_q8_k(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                             size_t a_stride, int n_tokens);
void vec_dot_multi_q4_k_q8_k(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                             size_t a_stride, int n_tokens);
}  // namespace avx2

const TypeKernels* KernelSet::find(GgmlType type) const {
  const auto id = static_cast<size_t>(type);
  return id < kSlots && present_[id] ? &by_id_[id] : nullptr;
}

void KernelSet::set(const TypeKernels& k) {
  const auto id = static_cast<size_t>(k.type);
  by_id_[id] = k;
  present_[id] = true;
}

namespace {

KernelSet make_generic() {
  KernelSet set("generic");
  for (const QuantTraits& t : quant_traits_table()) {
    set.set(TypeKernels{t.type, t.vec_dot_type, t.quantize_activation, t.vec_dot, t.dequantize});
  }
  return set;
}

// Starts from the reference and replaces what has an AVX2 version.
KernelSet make_avx2() {
  KernelSet set("avx2");
  for (const QuantTraits& t : quant_traits_table()) {
    TypeKernels k{t.type, t.vec_dot_type, t.quantize_activation, t.vec_dot, t.dequantize};
    switch (t.type) {
      case GgmlType::F32:
        k.vec_dot = avx2::vec_dot_f32_f32;
        break;
      case GgmlType::F16:
        k.quantize_activation = avx2::quantize_row_f16;
        k.vec_dot = avx2::vec_dot_f16_f16;
        k.dequantize = avx2::dequantize_row_f16;
        break;
      case GgmlType::BF16:
        k.vec_dot = avx2::vec_dot_bf16_bf16;
        break;
      case GgmlType::Q4_0:
        k.quantize_activation = avx2::quantize_row_q8_0_act;
        k.vec_dot = avx2::vec_dot_q4_0_q8_0;
        break;
      case GgmlType::Q4_1:
        k.quantize_activation = avx2::quantize_row_q8_1_act;
        k.vec_dot = avx2::vec_dot_q4_1_q8_1;
        break;
      case GgmlType::Q5_0:
        k.quantize_activation = avx2::quantize_row_q8_0_act;
        k.vec_dot = avx2::vec_dot_q5_0_q8_0;
        k.vec_dot_multi = avx2::vec_dot_multi_q5_0_q8_0;
        break;
      case GgmlType::Q5_1:
        k.quantize_activation = avx2::quantize_row_q8_1_act;
        k.vec_dot = avx2::vec_dot_q5_1_q8_1;
        break;
      case GgmlType::Q8_0:
        k.quantize_activation = avx2::quantize_row_q8_0_act;
        k.vec_dot = avx2::vec_dot_q8_0_q8_0;
        k.vec_dot_multi = avx2::vec_dot_multi_q8_0_q8_0;
        break;
      case GgmlType::Q2_K:
        k.quantize_activation = avx2::quantize_row_q8_k;
        k.vec_dot = avx2::vec_dot_q2_k_q8_k;
        break;
      case GgmlType::Q3_K:
        k.quantize_activation = avx2::quantize_row_q8_k;
        k.vec_dot = avx2::vec_dot_q3_k_q8_k;
        break;
      case GgmlType::Q4_K:
        k.quantize_activation = avx2::quantize_row_q8_k;
        k.vec_dot = avx2::vec_dot_q4_k_q8_k;
        k.vec_dot_multi = avx2::vec_dot_multi_q4_k_q8_k;
        break;
      case GgmlType::Q5_K:
        k.quantize_activation = avx2::quantize_row_q8_k;
        k.vec_dot = avx2::vec_dot_q5_k_q8_k;
        break;
      case GgmlType::Q6_K:
        k.quantize_activation = avx2::quantize_row_q8_k;
        k.vec_dot = avx2::vec_dot_q6_k_q8_k;
        k.vec_dot_multi = avx2::vec_dot_multi_q6_k_q8_k;
        break;
      default:
        break;
    }
    set.set(k);
  }
  return set;
}

}  // namespace

const KernelSet& generic_kernels() {
  static const KernelSet set = make_generic();
  return set;
}

const KernelSet* avx2_kernels() {
  if (!detect_cpu_features().has_avx2_kernels()) return nullptr;
  static const KernelSet set = make_avx2();
  return &set;
}

const KernelSet& kernels() {
  static const KernelSet& chosen = [&]() -> const KernelSet& {
    if (cpu_features().has_avx2_kernels()) {
      if (const KernelSet* avx2 = avx2_kernels()) return *avx2;
    }
    return generic_kernels();
  }();
  return chosen;
}

}  // namespace quire::engine
