// AVX2/FMA inner loops of the machine-limit measurements; compiled with -mavx2 -mfma and called
// only after cpu_features() reports support.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace quire::bench {

// Sum of the floats in [p, p + n) with 4 accumulators so loads, not adds, are the bottleneck.
float read_sum_avx2(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  float total = 0;
  for (float x : lanes) total += x;
  for (; i < n; ++i) total += p[i];
  return total;
}

// 10 independent chains of `iters` FMAs on 8 lanes: 160 * iters flops.
float fma_chains_avx2(int64_t iters) {
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  __m256 x0 = _mm256_set1_ps(1.0f), x1 = _mm256_set1_ps(1.1f), x2 = _mm256_set1_ps(1.2f);
  __m256 x3 = _mm256_set1_ps(1.3f), x4 = _mm256_set1_ps(1.4f), x5 = _mm256_set1_ps(1.5f);
  __m256 x6 = _mm256_set1_ps(1.6f), x7 = _mm256_set1_ps(1.7f), x8 = _mm256_set1_ps(1.8f);
  __m256 x9 = _mm256_set1_ps(1.9f);
  for (int64_t i = 0; i < iters; ++i) {
    x0 = _mm256_fmadd_ps(x0, m, c);
    x1 = _mm256_fmadd_ps(x1, m, c);
    x2 = _mm256_fmadd_ps(x2, m, c);
    x3 = _mm256_fmadd_ps(x3, m, c);
    x4 = _mm256_fmadd_ps(x4, m, c);
    x5 = _mm256_fmadd_ps(x5, m, c);
    x6 = _mm256_fmadd_ps(x6, m, c);
    x7 = _mm256_fmadd_ps(x7, m, c);
    x8 = _mm256_fmadd_ps(x8, m, c);
    x9 = _mm256_fmadd_ps(x9, m, c);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)),
                           _mm256_add_ps(_mm256_add_ps(x4, x5), _mm256_add_ps(x6, x7)));
  s = _mm256_add_ps(s, _mm256_add_ps(x8, x9));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  return lanes[0] + lanes[7];
}

}  // namespace quire::bench
