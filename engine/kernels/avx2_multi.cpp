// AVX2 dot products of one weight row with up to 8 activation rows (batched decoding): each
// weight block is decoded once into signed bytes, then every token pays only its own
// multiply-adds. Results are bit-identical to the single-token kernels of avx2_legacy.cpp: the
// per-block integer lane sums are the same exact integers (lane k = products of weights 4k..4k+3,
// whatever the decomposition), and the float part is the same operations in the same order per
// token (d = f32(d_w) * f32(d_a); acc = fma(d, f32(lanes), acc); the same horizontal sum).
// Tested against vec_dot for every token count (tests/engine/kernels/matmul_test.cpp).
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "engine/kernels/avx2.h"
#include "engine/kernels/avx2_common.h"
#include "engine/quant/blocks.h"

namespace quire::engine::avx2 {
namespace {

using namespace common;

struct WQ5_0 {
  using W = BlockQ5_0;
  static __m256i decode(const W& b) {
    return _mm256_sub_epi8(
        _mm256_or_si256(unpack_nibbles(b.qs),
                        _mm256_and_si256(expand_qh(b.qh), _mm256_set1_epi8(0x10))),
        _mm256_set1_epi8(16));
  }
};
struct WQ8_0 {
  using W = BlockQ8_0;
  static __m256i decode(const W& b) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
  }
};

// Weights w (|w| <= 127 here: the quantizers never write -128) times activations a (!= -128).
[[gnu::always_inline]] inline __m256i lanes(__m256i abs_w, __m256i w, __m256i a) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(a, w)),
                           _mm256_set1_epi16(1));
}

template <typename D, int T>
void dot_multi_fixed(int64_t nb, float* s, size_t s_stride, const typename D::W* x,
                     const uint8_t* a, size_t a_stride) {
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i w = D::decode(x[i]);
    const __m256i abs_w = _mm256_sign_epi8(w, w);
    const float dw = _cvtsh_ss(x[i].d);
    for (int t = 0; t < T; ++t) {
      const auto* y = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * a_stride) + i;
      const float d = dw * _cvtsh_ss(y->d);
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y->qs));
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes(abs_w, w, av)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) s[static_cast<size_t>(t) * s_stride] = hsum8(acc[t]);
}

// Runs run(std::integral_constant<int, T>, first output, first activation row) over the tokens
// in groups of T = 8, 4, 2, 1 (a group's accumulators stay in registers). The grouping never
// changes a result: every token's arithmetic is its own.
template <typename Run>
void by_token_groups(float* s, size_t s_stride, const void* a, size_t a_stride, int n_tokens,
                     Run run) {
  const auto* act = static_cast<const uint8_t*>(a);
  for (int t0 = 0; t0 < n_tokens;) {
    float* st = s + static_cast<size_t>(t0) * s_stride;
    const uint8_t* at = act + static_cast<size_t>(t0) * a_stride;
    const int left = n_tokens - t0;
    if (left >= 8) {
      run(std::integral_constant<int, 8>{}, st, at);
      t0 += 8;
    } else if (left >= 4) {
      run(std::integral_constant<int, 4>{}, st, at);
      t0 += 4;
    } else if (left >= 2) {
      run(std::integral_constant<int, 2>{}, st, at);
      t0 += 2;
    } else {
      run(std::integral_constant<int, 1>{}, st, at);
      t0 += 1;
    }
  }
}

// Q6_K x Q8_K, per token the operations of avx2_k.cpp's vec_dot_q6_k_q8_k (llama.cpp's order):
// levels q in 0..63 (unsigned: Q8_K activations reach -128, so no sign trick), pair sums
// maddubs(q, a) - maddubs(32, a), madd with the sub-block scales, then per super-block
// acc = fma(d * da, f32(lanes), acc) and hsum8 at the end. The level and scale registers of a
// super-block are built once for all tokens.
template <int T>
void dot_q6_k_fixed(int64_t nb, float* s, size_t s_stride, const BlockQ6_K* x, const uint8_t* a,
                    size_t a_stride) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i top2 = _mm256_set1_epi8(0x30);
  const __m256i offset32 = _mm256_set1_epi8(32);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const BlockQ6_K& b = x[i];
    const float dw = _cvtsh_ss(b.d);
    const __m256i scales =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
    __m256i q[2][4], sc[2][4];
    for (int h = 0; h < 2; ++h) {
      const __m256i s8 = h == 0 ? _mm256_permute2x128_si256(scales, scales, 0x00)
                                : _mm256_permute2x128_si256(scales, scales, 0x11);
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
      q[h][0] = _mm256_or_si256(_mm256_and_si256(ql0, low4),
                                _mm256_and_si256(_mm256_slli_epi16(qh, 4), top2));
      q[h][1] = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                                _mm256_and_si256(_mm256_slli_epi16(qh, 2), top2));
      q[h][2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                                _mm256_and_si256(qh, top2));
      q[h][3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), top2));
      for (int m = 0; m < 4; ++m)
        sc[h][m] = _mm256_shuffle_epi8(s8, broadcast16_pair_control(2 * m));
    }
    for (int t = 0; t < T; ++t) {
      const auto* y = reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t) * a_stride) + i;
      __m256i sumi = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
        const int8_t* a8 = y->qs + 128 * h;
        __m256i p[4];
        for (int m = 0; m < 4; ++m) {
          const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a8 + 32 * m));
          p[m] = _mm256_sub_epi16(_mm256_maddubs_epi16(q[h][m], av),
                                  _mm256_maddubs_epi16(offset32, av));
        }
        for (int m = 0; m < 4; ++m) {
          sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p[m], sc[h][m]));
        }
      }
      const float dd = y->d * dw;
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(sumi), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) s[static_cast<size_t>(t) * s_stride] = hsum8(acc[t]);
}

// Q4_K x Q8_K, per token the operations of avx2_k.cpp's vec_dot_q4_k_q8_k (llama.cpp's order):
// sumi lanes = sum over sub-blocks of madd(maddubs(levels, a), scale), summ lanes = madd(mins,
// bsums); acc = fma(d * da, f32(sumi), acc), acc_m = fnma(dmin * da, f32(pairs of summ), acc_m);
// hsum8(acc) + ((m0 + m2) + (m1 + m3)) at the end.
template <int T>
void dot_q4_k_fixed(int64_t nb, float* s, size_t s_stride, const BlockQ4_K* x, const uint8_t* a,
                    size_t a_stride) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[T];
  __m128 acc_m[T];
  for (int t = 0; t < T; ++t) {
    acc[t] = _mm256_setzero_ps();
    acc_m[t] = _mm_setzero_ps();
  }
  for (int64_t i = 0; i < nb; ++i) {
    const BlockQ4_K& b = x[i];
    uint32_t d_dmin;
    std::memcpy(&d_dmin, &b.d, sizeof(d_dmin));
    const __m128 d_w = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d_dmin)));
    const __m128i scales_mins = unpack_scales_mins(b.scales);
    const __m256i scales = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(scales_mins, scales_mins));
    const __m256i scales03 = _mm256_unpacklo_epi16(scales, scales);
    const __m256i scales47 = _mm256_unpackhi_epi16(scales, scales);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(
        scales_mins, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
    __m256i lo[4], hi[4], sc_lo[4], sc_hi[4];
    for (int g = 0; g < 4; ++g) {
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
      lo[g] = _mm256_and_si256(packed, low4);
      hi[g] = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4);
      sc_lo[g] = broadcast_scale(g < 2 ? scales03 : scales47, (2 * g) % 4);
      sc_hi[g] = broadcast_scale(g < 2 ? scales03 : scales47, (2 * g + 1) % 4);
    }
    for (int t = 0; t < T; ++t) {
      const auto* y = reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t) * a_stride) + i;
      const __m128 dd_dm = _mm_mul_ps(d_w, _mm_set1_ps(y->d));
      const __m256i summ =
          _mm256_madd_epi16(mins, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y->bsums)));
      __m256i sumi = _mm256_setzero_si256();
      for (int g = 0; g < 4; ++g) {
        const __m256i p_lo = _mm256_maddubs_epi16(
            lo[g], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y->qs + 64 * g)));
        const __m256i p_hi = _mm256_maddubs_epi16(
            hi[g], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y->qs + 64 * g + 32)));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, sc_lo[g]));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, sc_hi[g]));
      }
      const __m256i pairs = _mm256_hadd_epi32(summ, summ);
      const __m128i prod =
          _mm_unpacklo_epi64(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
      acc_m[t] = _mm_fnmadd_ps(_mm_permute_ps(dd_dm, 0x55), _mm_cvtepi32_ps(prod), acc_m[t]);
      acc[t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd_dm), _mm256_cvtepi32_ps(sumi), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    __m128 m = _mm_add_ps(acc_m[t], _mm_movehl_ps(acc_m[t], acc_m[t]));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    s[static_cast<size_t>(t) * s_stride] = hsum8(acc[t]) + _mm_cvtss_f32(m);
  }
}

}  // namespace

void vec_dot_multi_q4_k_q8_k(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                             size_t a_stride, int n_tokens) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  by_token_groups(s, s_stride, a, a_stride, n_tokens, [&](auto t, float* st, const uint8_t* at) {
    dot_q4_k_fixed<decltype(t)::value>(n / 256, st, s_stride, x, at, a_stride);
  });
}

void vec_dot_multi_q6_k_q8_k(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                             size_t a_stride, int n_tokens) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  by_token_groups(s, s_stride, a, a_stride, n_tokens, [&](auto t, float* st, const uint8_t* at) {
    dot_q6_k_fixed<decltype(t)::value>(n / 256, st, s_stride, x, at, a_stride);
  });
}

void vec_dot_multi_q5_0_q8_0(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                             size_t a_stride, int n_tokens) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  by_token_groups(s, s_stride, a, a_stride, n_tokens, [&](auto t, float* st, const uint8_t* at) {
    dot_multi_fixed<WQ5_0, decltype(t)::value>(n / 32, st, s_stride, x, at, a_stride);
  });
}

void vec_dot_multi_q8_0_q8_0(int64_t n, float* s, size_t s_stride, const void* w, const void* a,
                             size_t a_stride, int n_tokens) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  by_token_groups(s, s_stride, a, a_stride, n_tokens, [&](auto t, float* st, const uint8_t* at) {
    dot_multi_fixed<WQ8_0, decltype(t)::value>(n / 32, st, s_stride, x, at, a_stride);
  });
}

}  // namespace quire::engine::avx2
