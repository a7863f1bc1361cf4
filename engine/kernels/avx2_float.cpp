// AVX2 + FMA + F16C kernels for the float types (F32, F16, BF16). Contracts in avx2.h; the
// oracles are the reference functions in engine/quant/quant_float.cpp.
//
// Conversions f16/bf16 -> f32 are exact, so the dot products differ from the double-precision
// reference only by the f32 roundings of their accumulation. They run kAcc independent 8-lane
// accumulators: an FMA has 4 cycles of latency and two issue per cycle, so 8 chains keep both
// FMA units busy (in practice the loads of both rows are the limit, ~2 vectors per cycle).
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/avx2.h"
#include "engine/kernels/avx2_common.h"

namespace quire::engine::avx2 {

namespace {

constexpr int kAcc = 8;

__m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

float bf16_scalar(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f = 0.0f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// 16 bf16 -> two vectors of 8 f32: in each 32-bit lane the low bf16 shifted up and the high one
// masked in place (a bf16 is the top half of its f32). The elements come out as evens and odds,
// which does not matter for a dot product as both operands are split the same way.
void load_bf16x16(const uint16_t* p, __m256* even, __m256* odd) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  *even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  *odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}

}  // namespace

void dequantize_row_f16(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_f16x8(x + i));
  for (; i < n; ++i) dst[i] = _cvtsh_ss(x[i]);
}

void quantize_row_f16(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

namespace {

// Sum of the kAcc accumulators, pairwise.
float reduce(__m256 acc[kAcc]) {
#pragma GCC unroll 3
  for (int width = kAcc / 2; width > 0; width /= 2) {
#pragma GCC unroll 4
    for (int k = 0; k < width; ++k) acc[k] = _mm256_add_ps(acc[k], acc[k + width]);
  }
  return common::hsum8(acc[0]);
}

}  // namespace

namespace {

inline __m256 load_f32x8(const float* p) {
  return _mm256_loadu_ps(p);
}
inline float f32_scalar(float x) {
  return x;
}
inline float f16_scalar(uint16_t h) {
  return _cvtsh_ss(h);
}

// Dot product of two rows of T, 8 lanes per load, kAcc independent FMA chains.
template <typename T, __m256 (*Load8)(const T*), float (*Scalar)(T)>
float dot_rows(const T* x, const T* y, int64_t n) {
  __m256 acc[kAcc];
#pragma GCC unroll 8
  for (__m256& v : acc) v = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 * kAcc <= n; i += 8 * kAcc) {
#pragma GCC unroll 8
    for (int k = 0; k < kAcc; ++k) {
      acc[k] = _mm256_fmadd_ps(Load8(x + i + 8 * k), Load8(y + i + 8 * k), acc[k]);
    }
  }
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(Load8(x + i), Load8(y + i), acc[0]);
  float sum = reduce(acc);
  for (; i < n; ++i) sum += Scalar(x[i]) * Scalar(y[i]);
  return sum;
}

}  // namespace

void vec_dot_f32_f32(int64_t n, float* s, const void* w, const void* a) {
  *s = dot_rows<float, load_f32x8, f32_scalar>(static_cast<const float*>(w),
                                               static_cast<const float*>(a), n);
}

void vec_dot_f16_f16(int64_t n, float* s, const void* w, const void* a) {
  *s = dot_rows<uint16_t, load_f16x8, f16_scalar>(static_cast<const uint16_t*>(w),
                                                  static_cast<const uint16_t*>(a), n);
}

void vec_dot_bf16_bf16(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  __m256 acc[kAcc];
#pragma GCC unroll 8
  for (__m256& v : acc) v = _mm256_setzero_ps();
  __m256 x_even, x_odd, y_even, y_odd;
  int64_t i = 0;
  for (; i + 8 * kAcc <= n; i += 8 * kAcc) {
#pragma GCC unroll 4
    for (int k = 0; k < kAcc; k += 2) {
      load_bf16x16(x + i + 8 * k, &x_even, &x_odd);
      load_bf16x16(y + i + 8 * k, &y_even, &y_odd);
      acc[k] = _mm256_fmadd_ps(x_even, y_even, acc[k]);
      acc[k + 1] = _mm256_fmadd_ps(x_odd, y_odd, acc[k + 1]);
    }
  }
  for (; i + 16 <= n; i += 16) {
    load_bf16x16(x + i, &x_even, &x_odd);
    load_bf16x16(y + i, &y_even, &y_odd);
    acc[0] = _mm256_fmadd_ps(x_even, y_even, acc[0]);
    acc[1] = _mm256_fmadd_ps(x_odd, y_odd, acc[1]);
  }
  float sum = reduce(acc);
  for (; i < n; ++i) sum += bf16_scalar(x[i]) * bf16_scalar(y[i]);
  *s = sum;
}

}  // namespace quire::engine::avx2
