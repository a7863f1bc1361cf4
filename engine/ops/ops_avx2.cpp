// AVX2 + FMA + F16C ops, 8 floats per vector. Each function mirrors the roundings of its
// reference in ops_ref.cpp (products and sums rounded separately, never fused, sums in double).
// Where llama.cpp's CPU backend (build 4748, x86 AVX2) rounds differently from the plain
// reference, these versions follow llama.cpp, because quantized models amplify a 1-ulp
// difference into a flipped 8-bit activation step (see the conformance README):
//   rmsnorm: squares summed in double sequentially, like ggml_compute_forward_rms_norm_f32;
//   silu / swiglu / softmax: e^x by ggml_v_expf's algorithm (exp8_llama below, up to ~2 ulp)
//     instead of std::exp; softmax sums its exponentials per group of 8 in f32 (ggml's
//     horizontal order) and the group sums sequentially in double, like ggml_vec_soft_max_f32.
// A tail of n % 8 elements goes through the same code with masked loads and stores.
#include "engine/ops/ops_avx2.h"

#include <immintrin.h>

#include <cmath>

namespace quire::engine::ops::avx2 {
namespace {

constexpr int64_t kLanes = 8;

// GCC contracts a product feeding an addition into one FMA even across intrinsics (at -O3; its
// C++ default is -ffp-contract=fast), which rounds once where the reference rounds twice. The
// empty asm claims to modify v, so the optimiser cannot see through it: v stays a rounded value.
__m256 rounded(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}

// Lanes [0, count) all ones, the rest zero; count in 0..8.
__m256i tail_mask(int64_t count) {
  alignas(32) static const int32_t kMaskWindow[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                      0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskWindow + kLanes - count));
}

// Full vectors use plain loads; the tail loads zeros in its missing lanes and never touches the
// memory beyond the row.
struct Tail {
  __m256i mask;
  explicit Tail(int64_t count) : mask(tail_mask(count)) {}
  __m256 load(const float* p) const { return _mm256_maskload_ps(p, mask); }
  void store(float* p, __m256 v) const { _mm256_maskstore_ps(p, mask, v); }
};

double horizontal_sum(__m256d v) {
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Adds the 8 floats of v, widened to double, to the two 4-lane accumulators.
void accumulate_pd(__m256 v, __m256d& lo, __m256d& hi) {
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

// e^x for 8 floats.
//   x = k ln2 + r, k = round(x / ln2), |r| <= ln2/2. ln2 is split in two floats (hi + lo); as
//   |k| <= 150 and x lies within half of ln2 of k * ln2_hi, x - k * ln2_hi is exact under FMA,
//   and the second step leaves r with one rounding.
//   e^r = 1 + r + r^2 q(r), q of degree 4 interpolating (e^r - 1 - r) / r^2 at the Chebyshev
//   nodes of [-ln2/2, ln2/2] (coefficients computed in long double, rounded to float): the
//   polynomial's own relative error is 1e-8, well under half an ulp, so the result error is that
//   of the float evaluation (measured below).
//   2^k is applied as 2^(k/2) * 2^(k - k/2): each factor has a normal exponent for every k in
//   [-150, 128], so results that overflow become +inf and results in the subnormal range are
//   rounded once (the first product is exact).
// Measured over every 13th float with a normal result (1.7e8 values): at most 1.05 ulp from e^x
// (relative 8.6e-8 vs exact, 1.2e-7 vs glibc's expf); ops_test.cpp checks a sweep of its own.
__m256 exp8(__m256 x) {
  const __m256 kMaxInput = _mm256_set1_ps(89.0f);    // e^89 > FLT_MAX: +inf
  const __m256 kMinInput = _mm256_set1_ps(-104.0f);  // e^-104 < 2^-150: rounds to 0
  const __m256 kLog2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 kLn2Hi = _mm256_set1_ps(0x1.62e430p-1f);
  const __m256 kLn2Lo = _mm256_set1_ps(-0x1.05c610p-29f);
  const __m256 kC2 = _mm256_set1_ps(0x1p-1f);
  const __m256 kC3 = _mm256_set1_ps(0x1.5554dep-3f);
  const __m256 kC4 = _mm256_set1_ps(0x1.55551ap-5f);
  const __m256 kC5 = _mm256_set1_ps(0x1.120b62p-7f);
  const __m256 kC6 = _mm256_set1_ps(0x1.6d10fcp-10f);
  const __m256 kOne = _mm256_set1_ps(1.0f);
  const __m256i kBias = _mm256_set1_epi32(127);

  // min/max return their second operand when either is NaN: x second keeps NaN a NaN.
  x = _mm256_max_ps(kMinInput, _mm256_min_ps(kMaxInput, x));
  const __m256 k =
      _mm256_round_ps(_mm256_mul_ps(x, kLog2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, kLn2Hi, x);
  r = _mm256_fnmadd_ps(k, kLn2Lo, r);

  __m256 q = _mm256_fmadd_ps(kC6, r, kC5);
  q = _mm256_fmadd_ps(q, r, kC4);
  q = _mm256_fmadd_ps(q, r, kC3);
  q = _mm256_fmadd_ps(q, r, kC2);
  const __m256 r2 = _mm256_mul_ps(r, r);
  const __m256 p = _mm256_add_ps(_mm256_fmadd_ps(q, r2, r), kOne);

  const __m256i ki = _mm256_cvtps_epi32(k);
  const __m256i k_half = _mm256_srai_epi32(ki, 1);
  const __m256i k_rest = _mm256_sub_epi32(ki, k_half);
  const __m256 scale_half =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k_half, kBias), 23));
  const __m256 scale_rest =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k_rest, kBias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, scale_half), scale_rest);
}

// e^x as llama.cpp's AVX2 ggml_v_expf computes it (an Arm optimized-routines design), operation
// for operation, so silu and softmax round like llama.cpp's:
//   n = round(x / ln2) through the 1.5 * 2^23 shifter (z = fma(x, 1/ln2, shifter), n = z -
//   shifter); b = x - n ln2 with ln2 split in two (two fnmadd), e^b - 1 ~ b (c1 + b c2 + b^2 (c3 +
//   b c4
//   + b^2 c5)) evaluated as fma(fma(fma(c5, b, c4), b^2, fma(c3, b, c2)), b^2, c1 b);
//   result = 2^n (1 + p) as fma(p, 2^n, 2^n), with 2^n built from the shifter's low bits.
// Lanes with |n| > 126 take a scaled path (2^n split in two factors; |n| > 192: overflow to inf
// or underflow to 0). Maximum error ~1.45 ulp + 0.5 (llama.cpp's figure); e^-inf = 0,
// e^inf = inf, NaN stays NaN.
__m256 exp8_llama(__m256 x) {
  const __m256 shifter = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shifter);
  const __m256 n = _mm256_sub_ps(z, shifter);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  // 2^n: the shifter leaves n in the low mantissa bits of z; shifted into the exponent field
  // and added to 1.0f's bits.
  const __m256i n_exponent = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  const __m256 scale =
      _mm256_castsi256_ps(_mm256_add_epi32(n_exponent, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 far = _mm256_cmp_ps(abs_n, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
  const __m256 b2 = _mm256_mul_ps(b, b);
  const __m256 high = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), b2,
      _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f)));
  const __m256 p = _mm256_fmadd_ps(high, b2, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
  if (_mm256_movemask_ps(far) == 0) return _mm256_fmadd_ps(p, scale, scale);
  // 2^n = s1 * s2 with both factors normal: s1 = 2^-125 (n <= 0) or 2^127 (n > 0), s2 = 2^n / s1.
  const __m256i negative =
      _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                       _mm256_set1_epi32(static_cast<int32_t>(0x82000000u)));
  const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(negative, _mm256_set1_epi32(0x7f000000)));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(n_exponent, negative));
  const __m256 very_far = _mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
  const __m256 scaled = _mm256_mul_ps(_mm256_fmadd_ps(s2, p, s2), s1);
  const __m256 near_or_far = _mm256_or_ps(_mm256_and_ps(far, scaled),
                                          _mm256_andnot_ps(far, _mm256_fmadd_ps(scale, p, scale)));
  return _mm256_or_ps(_mm256_and_ps(very_far, _mm256_mul_ps(s1, s1)),
                      _mm256_andnot_ps(very_far, near_or_far));
}

// x / (1 + e^-x) as llama.cpp's ggml_v_silu: -x as 0 - x, e^-x by exp8_llama, one division.
__m256 silu8(__m256 x) {
  const __m256 e = exp8_llama(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// The 8 lanes added in llama.cpp's order (hsum_float_8, also ggml_vec_soft_max_f32's group
// sum): (l_k + l_(k+4)), then (0, 2) and (1, 3), then the two.
float horizontal_sum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// y = f(x) elementwise for a vector function f.
template <typename F>
void map1(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const Tail tail(n - i);
    tail.store(y + i, f(tail.load(x + i)));
  }
}

// y = f(a, b) elementwise.
template <typename F>
void map2(const float* a, const float* b, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  }
  if (i < n) {
    const Tail tail(n - i);
    tail.store(y + i, f(tail.load(a + i), tail.load(b + i)));
  }
}

// Sum in double of g(x) over the row (g: 8 floats -> 8 floats). Two vectors per step into four
// accumulators, so the 4-cycle latency of the double additions does not bound the loop. The
// tail's missing lanes are masked out of the sum (g(0) need not be 0).
template <typename G>
double sum_pd(const float* x, int64_t n, G g) {
  __m256d lo0 = _mm256_setzero_pd(), hi0 = _mm256_setzero_pd();
  __m256d lo1 = _mm256_setzero_pd(), hi1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    accumulate_pd(g(_mm256_loadu_ps(x + i)), lo0, hi0);
    accumulate_pd(g(_mm256_loadu_ps(x + i + kLanes)), lo1, hi1);
  }
  for (; i + kLanes <= n; i += kLanes) accumulate_pd(g(_mm256_loadu_ps(x + i)), lo0, hi0);
  if (i < n) {
    const Tail tail(n - i);
    accumulate_pd(_mm256_and_ps(g(tail.load(x + i)), _mm256_castsi256_ps(tail.mask)), lo1, hi1);
  }
  return horizontal_sum(_mm256_add_pd(_mm256_add_pd(lo0, hi0), _mm256_add_pd(lo1, hi1)));
}

}  // namespace

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  // Sequential, as ggml sums (a double sum of f32 squares is not always exact, so the order can
  // move the f32 mean by an ulp). One dependent add per element: negligible next to the matrix
  // products around a norm.
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const auto mean = static_cast<float>(sum / static_cast<double>(n));
  const __m256 inv_rms = _mm256_set1_ps(1.0f / std::sqrt(mean + eps));
  if (w == nullptr) {
    map1(x, y, n, [&](__m256 v) { return _mm256_mul_ps(v, inv_rms); });
  } else {
    map2(x, w, y, n,
         [&](__m256 v, __m256 wv) { return _mm256_mul_ps(_mm256_mul_ps(v, inv_rms), wv); });
  }
}

void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  const double sum = sum_pd(x, n, [](__m256 v) { return v; });
  const auto mean = static_cast<float>(sum / static_cast<double>(n));
  const __m256 mean_v = _mm256_set1_ps(mean);
  const double sum_sq = sum_pd(x, n, [&](__m256 v) {
    const __m256 d = _mm256_sub_ps(v, mean_v);
    return _mm256_mul_ps(d, d);
  });
  const auto variance = static_cast<float>(sum_sq / static_cast<double>(n));
  const __m256 inv_std = _mm256_set1_ps(1.0f / std::sqrt(variance + eps));

  // y may alias x: each element is read before its own store, and nothing reads it afterwards.
  int64_t i = 0;
  auto normalise = [&](__m256 v, int64_t at, const Tail* tail) {
    __m256 out = _mm256_mul_ps(_mm256_sub_ps(v, mean_v), inv_std);
    if (w != nullptr) {
      out = _mm256_mul_ps(out, tail != nullptr ? tail->load(w + at) : _mm256_loadu_ps(w + at));
    }
    if (b != nullptr) {
      out = _mm256_add_ps(rounded(out),
                          tail != nullptr ? tail->load(b + at) : _mm256_loadu_ps(b + at));
    }
    return out;
  };
  for (; i + kLanes <= n; i += kLanes) {
    _mm256_storeu_ps(y + i, normalise(_mm256_loadu_ps(x + i), i, nullptr));
  }
  if (i < n) {
    const Tail tail(n - i);
    tail.store(y + i, normalise(tail.load(x + i), i, &tail));
  }
}

void softmax(float* x, int64_t n, float scale, const float* mask) {
  const __m256 scale_v = _mm256_set1_ps(scale);
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY);

  // Pass 1: x = x * scale + mask (two roundings), and the running maximum. Tail lanes outside
  // the row are set to -inf so they cannot raise the maximum.
  __m256 max_v = neg_inf;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    __m256 v = rounded(_mm256_mul_ps(_mm256_loadu_ps(x + i), scale_v));
    if (mask != nullptr) v = _mm256_add_ps(v, _mm256_loadu_ps(mask + i));
    _mm256_storeu_ps(x + i, v);
    max_v = _mm256_max_ps(max_v, v);
  }
  if (i < n) {
    const Tail tail(n - i);
    __m256 v = rounded(_mm256_mul_ps(tail.load(x + i), scale_v));
    if (mask != nullptr) v = _mm256_add_ps(v, tail.load(mask + i));
    tail.store(x + i, v);
    max_v = _mm256_max_ps(max_v, _mm256_blendv_ps(neg_inf, v, _mm256_castsi256_ps(tail.mask)));
  }
  const float max = horizontal_max(max_v);
  if (max == -INFINITY) {
    map1(x, x, n, [](__m256) { return _mm256_setzero_ps(); });
    return;
  }

  // Pass 2: x = e^(x - max) and its sum, as ggml_vec_soft_max_f32: each group of 8 (from the
  // start of the row) summed in f32 in hsum order, the group sums added in double in order.
  // The tail is a group whose missing lanes add 0: what llama.cpp computes for attention rows,
  // which it pads to a multiple of 32 with masked (-inf, e^-inf = 0) entries.
  const __m256 max_b = _mm256_set1_ps(max);
  double sum = 0.0;
  i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const __m256 e = exp8_llama(_mm256_sub_ps(_mm256_loadu_ps(x + i), max_b));
    _mm256_storeu_ps(x + i, e);
    sum += static_cast<double>(horizontal_sum_ps(e));
  }
  if (i < n) {
    const Tail tail(n - i);
    const __m256 e = _mm256_and_ps(exp8_llama(_mm256_sub_ps(tail.load(x + i), max_b)),
                                   _mm256_castsi256_ps(tail.mask));
    tail.store(x + i, e);
    sum += static_cast<double>(horizontal_sum_ps(e));
  }

  // Pass 3: normalise.
  const __m256 inv_sum = _mm256_set1_ps(static_cast<float>(1.0 / sum));
  map1(x, x, n, [&](__m256 v) { return _mm256_mul_ps(v, inv_sum); });
}

void silu(const float* x, float* y, int64_t n) {
  map1(x, y, n, silu8);
}

void swiglu(const float* g, const float* u, float* y, int64_t n) {
  map2(g, u, y, n, [](__m256 gv, __m256 uv) { return _mm256_mul_ps(silu8(gv), uv); });
}

// x -> fp16 (F16C, nearest even, exactly fp32_to_fp16) -> 16-bit index into the table. The
// table holds 16-bit entries, so each index gathers the 32 bits at entry h (and h + 1: the
// padding makes h = 65535 safe), keeps the low half (little-endian: entry h), and packs the 8
// results back to fp16 for the exact widening conversion.
void gelu_ggml(const float* x, float* y, int64_t n) {
  const auto* table = reinterpret_cast<const int*>(detail::gelu_ggml_table());
  const __m256 kLow = _mm256_set1_ps(-10.0f);
  const __m256 kHigh = _mm256_set1_ps(10.0f);
  const __m256i kLow16 = _mm256_set1_epi32(0xffff);
  map1(x, y, n, [&](__m256 v) {
    const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    const __m256i index = _mm256_cvtepu16_epi32(h);
    const __m256i gathered = _mm256_and_si256(_mm256_i32gather_epi32(table, index, 2), kLow16);
    const __m128i packed =
        _mm_packus_epi32(_mm256_castsi256_si128(gathered), _mm256_extracti128_si256(gathered, 1));
    __m256 out = _mm256_cvtph_ps(packed);
    // Ordered compares: NaN falls through to the table (whose entry for NaN is NaN).
    out = _mm256_blendv_ps(out, _mm256_setzero_ps(), _mm256_cmp_ps(v, kLow, _CMP_LE_OQ));
    return _mm256_blendv_ps(out, v, _mm256_cmp_ps(v, kHigh, _CMP_GE_OQ));
  });
}

void add(const float* a, const float* b, float* y, int64_t n) {
  map2(a, b, y, n, [](__m256 av, __m256 bv) { return _mm256_add_ps(av, bv); });
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  map2(a, b, y, n, [](__m256 av, __m256 bv) { return _mm256_mul_ps(av, bv); });
}

void scale(const float* x, float s, float* y, int64_t n) {
  const __m256 s_v = _mm256_set1_ps(s);
  map1(x, y, n, [&](__m256 v) { return _mm256_mul_ps(s_v, v); });
}

void exp_f32(const float* x, float* y, int64_t n) {
  map1(x, y, n, exp8);
}

}  // namespace quire::engine::ops::avx2
