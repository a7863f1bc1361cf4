// The kernel table per CPU level: for each weight type, the activation quantizer, the dot
// product and the dequantizer to use. The generic set is the reference code (quant_traits.h);
// the AVX2 set overrides what has an AVX2 version and falls back to the reference for the rest.
// The set is chosen once at start-up from cpu_features(); QUIRE_CPU=generic forces the
// reference everywhere. Tables are immutable and shared by all threads.
#pragma once

#include <array>
#include <string_view>

#include "engine/quant/ggml_type.h"
#include "engine/quant/quant_traits.h"

namespace quire::engine {

struct TypeKernels {
  GgmlType type = GgmlType::F32;
  GgmlType vec_dot_type = GgmlType::F32;
  QuantizeRowFn quantize_activation = nullptr;  // f32 -> vec_dot_type
  VecDotFn vec_dot = nullptr;                   // weight row . activation row
  DequantizeRowFn dequantize = nullptr;         // weight row -> f32
  // Optional: one weight row against up to kMaxMultiTokens activation rows (a_stride bytes
  // apart), s[t * s_stride] = vec_dot(row, activation t). Each result is bit-identical to
  // vec_dot's; the weight blocks are decoded once for all tokens (batched decoding).
  VecDotMultiFn vec_dot_multi = nullptr;
};

class KernelSet {
 public:
  explicit KernelSet(std::string_view name) : name_(name) {}
  std::string_view name() const { return name_; }
  // nullptr for a type without kernels.
  const TypeKernels* find(GgmlType type) const;
  void set(const TypeKernels& k);

 private:
  static constexpr size_t kSlots = 40;  // > largest ggml type id
  std::string_view name_;
  std::array<TypeKernels, kSlots> by_id_{};
  std::array<bool, kSlots> present_{};
};

// The reference kernels ("generic").
const KernelSet& generic_kernels();
// The AVX2/FMA/F16C kernels ("avx2"), or nullptr when the CPU or OS lacks them.
const KernelSet* avx2_kernels();
// The set in use: avx2 when available, unless QUIRE_CPU=generic.
const KernelSet& kernels();

}  // namespace quire::engine
