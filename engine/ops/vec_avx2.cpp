// AVX2 + FMA + F16C attention vector kernels (ops_avx2.h). Four accumulators of 8 lanes hide the
// FMA latency; the tail of n % 8 elements goes through masked loads (zeros in missing lanes).
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "engine/ops/ops_avx2.h"

namespace quire::engine::ops::avx2 {
namespace {

__m256i lanes_mask(int64_t count) {
  alignas(32) static const int32_t kWindow[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                  0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kWindow + 8 - count));
}

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The last n (< 8) halves, zero-extended; never reads past p + n.
__m256 load_f16_tail(const uint16_t* p, int64_t n) {
  alignas(16) uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i) tmp[i] = p[i];
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp)));
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int j = 0; j < 4; ++j) {
      acc[j] =
          _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * j), _mm256_loadu_ps(b + i + 8 * j), acc[j]);
    }
  }
  for (; i + 8 <= n; i += 8) {
    acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc[0]);
  }
  if (i < n) {
    const __m256i m = lanes_mask(n - i);
    acc[1] = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), acc[1]);
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int j = 0; j < 4; ++j) {
      acc[j] = _mm256_fmadd_ps(load_f16(a + i + 8 * j), load_f16(b + i + 8 * j), acc[j]);
    }
  }
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(load_f16(a + i), load_f16(b + i), acc[0]);
  if (i < n) {
    acc[1] = _mm256_fmadd_ps(load_f16_tail(a + i, n - i), load_f16_tail(b + i, n - i), acc[1]);
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] = std::fma(a, x[i], y[i]);
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16(x + i), _mm256_loadu_ps(y + i)));
  }
  if (i < n) {
    alignas(32) float t[8];
    _mm256_store_ps(t, load_f16_tail(x + i, n - i));
    for (int64_t j = 0; i + j < n; ++j) y[i + j] = std::fma(a, t[j], y[i + j]);
  }
}

float dot_f16_ggml(const uint16_t* a, const uint16_t* b, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  const int64_t whole = n / 32 * 32;
  for (int64_t i = 0; i < whole; i += 32) {
    for (int j = 0; j < 4; ++j) {
      acc[j] = _mm256_fmadd_ps(load_f16(a + i + 8 * j), load_f16(b + i + 8 * j), acc[j]);
    }
  }
  const __m256 x = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
  __m128 t = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  t = _mm_hadd_ps(t, t);  // (t0 + t1, t2 + t3, ...)
  t = _mm_hadd_ps(t, t);
  double sum = _mm_cvtss_f32(t);
  for (int64_t i = whole; i < n; ++i) {
    sum += static_cast<double>(_cvtsh_ss(a[i]) * _cvtsh_ss(b[i]));
  }
  return static_cast<float>(sum);
}

void to_f16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  }
  if (i < n) {
    alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t j = 0; i + j < n; ++j) t[j] = x[i + j];
    alignas(16) uint16_t h[8];
    _mm_store_si128(reinterpret_cast<__m128i*>(h),
                    _mm256_cvtps_ph(_mm256_load_ps(t), _MM_FROUND_TO_NEAREST_INT));
    for (int64_t j = 0; i + j < n; ++j) y[i + j] = h[j];
  }
}

}  // namespace quire::engine::ops::avx2
