// Public ops: the AVX2 version where one exists and the CPU allows it (decided once, honouring
// QUIRE_CPU=generic through cpu_features()), the reference otherwise.
#include "engine/ops/ops.h"

#include <cassert>
#include <cstddef>

#include "engine/core/cpu_features.h"
#include "engine/ops/ops_avx2.h"
#include "engine/quant/quant_traits.h"

namespace quire::engine::ops {
namespace {

bool use_avx2() {
  static const bool enabled = cpu_features().has_avx2_kernels();
  return enabled;
}

}  // namespace

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  use_avx2() ? avx2::rmsnorm(x, w, y, n, eps) : ref::rmsnorm(x, w, y, n, eps);
}

void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  use_avx2() ? avx2::layernorm(x, w, b, y, n, eps) : ref::layernorm(x, w, b, y, n, eps);
}

// RoPE costs n_rot/2 sin/cos pairs per token plus 6 flops per rotated element: small next to the
// matrix products around it, so the reference serves every CPU.
void rope(float* x, int64_t n_head, int64_t head_dim, int64_t n_rot, int64_t pos, float freq_base,
          RopeStyle style) {
  ref::rope(x, n_head, head_dim, n_rot, pos, freq_base, style);
}

void softmax(float* x, int64_t n, float scale, const float* mask) {
  use_avx2() ? avx2::softmax(x, n, scale, mask) : ref::softmax(x, n, scale, mask);
}

void silu(const float* x, float* y, int64_t n) {
  use_avx2() ? avx2::silu(x, y, n) : ref::silu(x, y, n);
}

// Used only by architectures whose reference uses exact GELU; not on a hot path yet.
void gelu_erf(const float* x, float* y, int64_t n) {
  ref::gelu_erf(x, y, n);
}

void gelu_tanh(const float* x, float* y, int64_t n) {
  ref::gelu_tanh(x, y, n);
}

void gelu_ggml(const float* x, float* y, int64_t n) {
  use_avx2() ? avx2::gelu_ggml(x, y, n) : ref::gelu_ggml(x, y, n);
}

void swiglu(const float* g, const float* u, float* y, int64_t n) {
  use_avx2() ? avx2::swiglu(g, u, y, n) : ref::swiglu(g, u, y, n);
}

void add(const float* a, const float* b, float* y, int64_t n) {
  use_avx2() ? avx2::add(a, b, y, n) : ref::add(a, b, y, n);
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  use_avx2() ? avx2::mul(a, b, y, n) : ref::mul(a, b, y, n);
}

void scale(const float* x, float s, float* y, int64_t n) {
  use_avx2() ? avx2::scale(x, s, y, n) : ref::scale(x, s, y, n);
}

float dot_f32(const float* a, const float* b, int64_t n) {
  return use_avx2() ? avx2::dot_f32(a, b, n) : ref::dot_f32(a, b, n);
}
float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n) {
  return use_avx2() ? avx2::dot_f16(a, b, n) : ref::dot_f16(a, b, n);
}
void axpy_f32(float a, const float* x, float* y, int64_t n) {
  use_avx2() ? avx2::axpy_f32(a, x, y, n) : ref::axpy_f32(a, x, y, n);
}
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  use_avx2() ? avx2::axpy_f16(a, x, y, n) : ref::axpy_f16(a, x, y, n);
}
float dot_f16_ggml(const uint16_t* a, const uint16_t* b, int64_t n) {
  return use_avx2() ? avx2::dot_f16_ggml(a, b, n) : ref::dot_f16_ggml(a, b, n);
}
void to_f16(const float* x, uint16_t* y, int64_t n) {
  use_avx2() ? avx2::to_f16(x, y, n) : ref::to_f16(x, y, n);
}

// data: n_rows rows of ggml_row_size(type, n_embd) bytes each; row ids[i] -> out[i, :].
void get_rows(GgmlType type, const void* data, int64_t n_embd, const int32_t* ids, int64_t n_ids,
              float* out) {
  const DequantizeRowFn dequantize = dequantizer(type);
  assert(dequantize != nullptr && "get_rows: type has no dequantizer");
  const auto row_bytes = static_cast<size_t>(ggml_row_size(type, static_cast<uint64_t>(n_embd)));
  const auto* rows = static_cast<const unsigned char*>(data);
  for (int64_t i = 0; i < n_ids; ++i) {
    dequantize(rows + static_cast<size_t>(ids[i]) * row_bytes, out + i * n_embd, n_embd);
  }
}

}  // namespace quire::engine::ops
