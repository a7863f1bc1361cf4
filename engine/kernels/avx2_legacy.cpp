// AVX2 + FMA + F16C kernels for the 32-weight block types. Contracts in avx2.h; the oracles are
// the reference functions in engine/quant/quant_legacy.cpp.
//
// Dot products. One block pair gives 8 int32 partial sums (below), computed exactly:
//   _mm256_maddubs_epi16(u8 weights, s8 activations) -> 16 int16 pair sums, no saturation since
//   |pair| <= 2 * 31 * 128 = 7936; _mm256_madd_epi16(., 1) -> 8 int32. Lane k holds the products
//   of bytes 4k..4k+3 of the block's 32 weights in order (low nibbles are weights 0..15).
// Signed weights (Q4_0, Q5_0) are fed as unsigned codes and the offset is taken back out in
// int16: Q4_0 sum (u - 8) a = maddubs(u, a) - maddubs(8, a); Q5_0 sum (nibble + 16 h - 16) a =
// maddubs(nibble, a) - maddubs(16 (1 - h), a). (Measured faster here than the sign trick, which
// costs a byte subtraction and two signs.) Q8_0 uses the sign trick: sum x a = sum |x| (a sign(x)),
// which needs x, a != -128 (the quantizers produce -127..127). Either way the 8 lane sums are the
// same integers as llama.cpp's mul_sum_i8_pairs_float lanes.
//
// Float accumulation follows llama.cpp's x86 AVX2 kernels (build 4748) operation for operation,
// so the results are bit-identical to llama.cpp's (what the conformance goldens need):
//   Q5_0, Q8_0 (ggml_vec_dot_*_q8_0): per block, d = f32(d_w) * f32(d_a) rounded to f32, then
//     acc = fma(d, f32(lane sums), acc) on 8 lanes, blocks in order; at the end the 8 lanes are
//     added as (l_k + l_(k+4)), then pairs (0, 2), (1, 3), then the two halves. Q8_0 prompts go
//     through llamafile's tinyBLAS_Q0_AVX there, whose per-output arithmetic is the same.
//   Q4_0: llama.cpp repacks Q4_0 weights (8 rows interleaved) and multiplies them with
//     ggml_gemv/gemm_q4_0_8x8_q8_0, which take each block's whole integer sum: acc =
//     fma(f32(sumi), d_w * d_a, acc), one f32 chain over the blocks.
// The reference instead rounds d * sumi once per block and sums the blocks in double, so a
// one-block row differs from it by a few ulp at most.
//
// Q4_1 / Q5_1 (min types) reduce eight blocks together (a transposing hadd tree gives their 8
// exact block sums in one vector), so each block contributes its term through one operation like
// the reference's per-block term; only the order of the f32 additions across blocks differs. The
// block term is formed exactly as the reference does, round(d_w d_a sumi) + round(m_w s_a),
// before it is accumulated: the two halves can cancel almost completely (a block far from 0 with
// a small spread), so accumulating them separately would lose the result.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "engine/kernels/avx2.h"
#include "engine/kernels/avx2_common.h"
#include "engine/quant/blocks.h"

namespace quire::engine::avx2 {

namespace {

using namespace common;

constexpr int kGroup = 8;  // blocks reduced together

int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

// GCC contracts a multiply feeding an add into an FMA even across intrinsics (-ffp-contract=fast
// is its default for C++); passing the product through an empty asm keeps its rounding.
[[gnu::always_inline]] inline __m256 rounded(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}

uint16_t load_u16(const void* p) {
  uint16_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// 8 f16 fields spaced `stride` bytes apart (the same field of 8 consecutive blocks) -> f32.
[[gnu::always_inline]] inline __m256 load_f16_strided(const uint8_t* p, size_t stride) {
  __m128i h = _mm_cvtsi32_si128(load_u16(p));
  h = _mm_insert_epi16(h, load_u16(p + 1 * stride), 1);
  h = _mm_insert_epi16(h, load_u16(p + 2 * stride), 2);
  h = _mm_insert_epi16(h, load_u16(p + 3 * stride), 3);
  h = _mm_insert_epi16(h, load_u16(p + 4 * stride), 4);
  h = _mm_insert_epi16(h, load_u16(p + 5 * stride), 5);
  h = _mm_insert_epi16(h, load_u16(p + 6 * stride), 6);
  h = _mm_insert_epi16(h, load_u16(p + 7 * stride), 7);
  return _mm256_cvtph_ps(h);
}

// Same for the first `count` < 8 blocks; the other lanes are 0.
__m256 load_f16_strided_partial(const uint8_t* p, size_t stride, int count) {
  uint16_t h[kGroup] = {};
  for (int k = 0; k < count; ++k) h[k] = load_u16(p + k * stride);
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
}

// The 8 lane sums of 8 vectors, as one vector: result lane k = sum of the lanes of v_k.
[[gnu::always_inline]] inline __m256i reduce8(__m256i v0, __m256i v1, __m256i v2, __m256i v3,
                                              __m256i v4, __m256i v5, __m256i v6, __m256i v7) {
  // hadd works within 128-bit halves: after two levels, u0123 holds in its low half the sums of
  // the low halves of v0..v3 and in its high half the sums of their high halves.
  const __m256i h01 = _mm256_hadd_epi32(v0, v1);
  const __m256i h23 = _mm256_hadd_epi32(v2, v3);
  const __m256i h45 = _mm256_hadd_epi32(v4, v5);
  const __m256i h67 = _mm256_hadd_epi32(v6, v7);
  const __m256i u0123 = _mm256_hadd_epi32(h01, h23);
  const __m256i u4567 = _mm256_hadd_epi32(h45, h67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(u0123, u4567, 0x20),
                          _mm256_permute2x128_si256(u0123, u4567, 0x31));
}

[[gnu::always_inline]] inline __m256i load_i8x32(const int8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

[[gnu::always_inline]] inline __m256i madd_pairs(__m256i pairs16) {
  return _mm256_madd_epi16(pairs16, _mm256_set1_epi16(1));
}

// Per-block int32 partial sums of weight value x activation value.
struct DotQ4_0 {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  static constexpr bool kHasMin = false;
  [[gnu::always_inline]] static __m256i partial(const W& x, const A& y) {
    const __m256i a = load_i8x32(y.qs);
    const __m256i p = _mm256_maddubs_epi16(unpack_nibbles(x.qs), a);
    const __m256i offset = _mm256_maddubs_epi16(_mm256_set1_epi8(8), a);
    return madd_pairs(_mm256_sub_epi16(p, offset));
  }
};

struct DotQ4_1 {
  using W = BlockQ4_1;
  using A = BlockQ8_1;
  static constexpr bool kHasMin = true;
  [[gnu::always_inline]] static __m256i partial(const W& x, const A& y) {
    return madd_pairs(_mm256_maddubs_epi16(unpack_nibbles(x.qs), load_i8x32(y.qs)));
  }
};

struct DotQ5_0 {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  static constexpr bool kHasMin = false;
  [[gnu::always_inline]] static __m256i partial(const W& x, const A& y) {
    const __m256i a = load_i8x32(y.qs);
    const __m256i p = _mm256_maddubs_epi16(unpack_nibbles(x.qs), a);
    const __m256i clear16 = _mm256_andnot_si256(expand_qh(x.qh), _mm256_set1_epi8(0x10));
    return madd_pairs(_mm256_sub_epi16(p, _mm256_maddubs_epi16(clear16, a)));
  }
};

struct DotQ5_1 {
  using W = BlockQ5_1;
  using A = BlockQ8_1;
  static constexpr bool kHasMin = true;
  [[gnu::always_inline]] static __m256i partial(const W& x, const A& y) {
    const __m256i high = _mm256_and_si256(expand_qh(x.qh), _mm256_set1_epi8(0x10));
    const __m256i u = _mm256_or_si256(unpack_nibbles(x.qs), high);
    return madd_pairs(_mm256_maddubs_epi16(u, load_i8x32(y.qs)));
  }
};

struct DotQ8_0 {
  using W = BlockQ8_0;
  using A = BlockQ8_0;
  static constexpr bool kHasMin = false;
  [[gnu::always_inline]] static __m256i partial(const W& x, const A& y) {
    const __m256i w = load_i8x32(x.qs);
    const __m256i a = load_i8x32(y.qs);
    return madd_pairs(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w)));
  }
};

// Address of an f16 field of a block, for the strided loads.
template <typename Block>
const uint8_t* field(const Block* b, const uint16_t Block::*member) {
  return reinterpret_cast<const uint8_t*>(&(b->*member));
}

// Per lane: round(dd * sumi) + round(m * s), the reference's block term to the bit.
[[gnu::always_inline]] inline __m256 block_terms_with_min(__m256 dd, __m256 sumi, __m256 m,
                                                          __m256 s) {
  return _mm256_add_ps(rounded(_mm256_mul_ps(dd, sumi)), rounded(_mm256_mul_ps(m, s)));
}

// Types with a min: sum over blocks i < nb of d_w d_a sumi_i + m_w s_a, eight blocks at a time.
template <typename Dot>
float dot_blocks_with_min(int64_t nb, const typename Dot::W* x, const typename Dot::A* y) {
  static_assert(Dot::kHasMin);
  using W = typename Dot::W;
  using A = typename Dot::A;
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + kGroup <= nb; i += kGroup) {
    const W* xb = x + i;
    const A* yb = y + i;
    const __m256 sumi = _mm256_cvtepi32_ps(
        reduce8(Dot::partial(xb[0], yb[0]), Dot::partial(xb[1], yb[1]), Dot::partial(xb[2], yb[2]),
                Dot::partial(xb[3], yb[3]), Dot::partial(xb[4], yb[4]), Dot::partial(xb[5], yb[5]),
                Dot::partial(xb[6], yb[6]), Dot::partial(xb[7], yb[7])));
    const __m256 dw = load_f16_strided(field(x + i, &W::d), sizeof(W));
    const __m256 da = load_f16_strided(field(y + i, &A::d), sizeof(A));
    const __m256 mw = load_f16_strided(field(x + i, &W::m), sizeof(W));
    const __m256 sa = load_f16_strided(field(y + i, &A::s), sizeof(A));
    acc = _mm256_add_ps(acc, block_terms_with_min(_mm256_mul_ps(dw, da), sumi, mw, sa));
  }
  if (i < nb) {
    const int count = static_cast<int>(nb - i);
    __m256i partial[kGroup];
    for (int k = 0; k < kGroup; ++k) {
      partial[k] = k < count ? Dot::partial(x[i + k], y[i + k]) : _mm256_setzero_si256();
    }
    const __m256 sumi = _mm256_cvtepi32_ps(reduce8(partial[0], partial[1], partial[2], partial[3],
                                                   partial[4], partial[5], partial[6], partial[7]));
    const __m256 dw = load_f16_strided_partial(field(x + i, &W::d), sizeof(W), count);
    const __m256 da = load_f16_strided_partial(field(y + i, &A::d), sizeof(A), count);
    const __m256 mw = load_f16_strided_partial(field(x + i, &W::m), sizeof(W), count);
    const __m256 sa = load_f16_strided_partial(field(y + i, &A::s), sizeof(A), count);
    acc = _mm256_add_ps(acc, block_terms_with_min(_mm256_mul_ps(dw, da), sumi, mw, sa));
  }
  return hsum8(acc);
}

// Types without a min, in llama.cpp's order (see the top of the file): 8 lane accumulators, one
// fma per block with d = d_w * d_a, then hsum.
template <typename Dot>
float dot_blocks_ggml(int64_t nb, const typename Dot::W* x, const typename Dot::A* y) {
  static_assert(!Dot::kHasMin);
  using W = typename Dot::W;
  using A = typename Dot::A;
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  // The d products of 8 blocks at once (the same f32 products), then broadcast one per block.
  alignas(32) float dd[kGroup];
  for (; i + kGroup <= nb; i += kGroup) {
    _mm256_store_ps(dd, _mm256_mul_ps(load_f16_strided(field(x + i, &W::d), sizeof(W)),
                                      load_f16_strided(field(y + i, &A::d), sizeof(A))));
#pragma GCC unroll 8
    for (int k = 0; k < kGroup; ++k) {
      const __m256 sumi = _mm256_cvtepi32_ps(Dot::partial(x[i + k], y[i + k]));
      acc = _mm256_fmadd_ps(_mm256_broadcast_ss(&dd[k]), sumi, acc);
    }
  }
  for (; i < nb; ++i) {
    const float d = _cvtsh_ss(x[i].d) * _cvtsh_ss(y[i].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(Dot::partial(x[i], y[i])), acc);
  }
  return hsum8(acc);
}

// Q4_0 in the order of llama.cpp's repacked Q4_0 kernels (ggml_gemv/gemm_q4_0_8x8_q8_0, AVX2),
// which llama.cpp uses for every Q4_0 weight matrix with a multiple of 8 rows on an AVX2 CPU:
// per block the exact integer sum, then acc = fma(f32(sumi), d_w * d_a, acc), blocks in order.
// Eight blocks' sums are reduced together; the accumulation is a scalar chain.
float dot_blocks_q4_0_repacked(int64_t nb, const BlockQ4_0* x, const BlockQ8_0* y) {
  float acc = 0.0f;
  int64_t i = 0;
  alignas(32) float sumf[kGroup];  // exact: |sumi| <= 32 * 8 * 127 < 2^24
  alignas(32) float dd[kGroup];
  for (; i + kGroup <= nb; i += kGroup) {
    const BlockQ4_0* xb = x + i;
    const BlockQ8_0* yb = y + i;
    _mm256_store_ps(sumf, _mm256_cvtepi32_ps(reduce8(
                              DotQ4_0::partial(xb[0], yb[0]), DotQ4_0::partial(xb[1], yb[1]),
                              DotQ4_0::partial(xb[2], yb[2]), DotQ4_0::partial(xb[3], yb[3]),
                              DotQ4_0::partial(xb[4], yb[4]), DotQ4_0::partial(xb[5], yb[5]),
                              DotQ4_0::partial(xb[6], yb[6]), DotQ4_0::partial(xb[7], yb[7]))));
    _mm256_store_ps(dd,
                    _mm256_mul_ps(load_f16_strided(field(xb, &BlockQ4_0::d), sizeof(BlockQ4_0)),
                                  load_f16_strided(field(yb, &BlockQ8_0::d), sizeof(BlockQ8_0))));
    for (int k = 0; k < kGroup; ++k) acc = std::fma(sumf[k], dd[k], acc);
  }
  for (; i < nb; ++i) {
    const float d = _cvtsh_ss(x[i].d) * _cvtsh_ss(y[i].d);
    acc = std::fma(static_cast<float>(hsum_i32(DotQ4_0::partial(x[i], y[i]))), d, acc);
  }
  return acc;
}

// Q8 activation block (llama.cpp's x86 semantics): d = amax/127, q = round_half_even(x * id)
// with id = 127/amax (0 for an all-zero block). Writes d as f16 and the 32 q; returns sum(q)
// and the f32 d.
int quantize_block_q8(const float* x, uint16_t* d_out, int8_t* qs, float* d_f32) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 v0 = _mm256_loadu_ps(x);
  __m256 v1 = _mm256_loadu_ps(x + 8);
  __m256 v2 = _mm256_loadu_ps(x + 16);
  __m256 v3 = _mm256_loadu_ps(x + 24);
  __m256 m = _mm256_max_ps(_mm256_and_ps(v0, abs_mask), _mm256_and_ps(v1, abs_mask));
  m = _mm256_max_ps(m, _mm256_max_ps(_mm256_and_ps(v2, abs_mask), _mm256_and_ps(v3, abs_mask)));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float amax = _mm_cvtss_f32(m4);

  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  *d_f32 = d;
  const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  std::memcpy(d_out, &dh, sizeof(dh));

  const __m256 scale = _mm256_set1_ps(id);
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, scale), kRound));
  const __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, scale), kRound));
  const __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, scale), kRound));
  const __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, scale), kRound));
  const int sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));

  // The packs work within 128-bit halves: the 32-bit groups of 4 bytes come out holding
  // elements {0-3, 8-11, 16-19, 24-27, 4-7, 12-15, 20-23, 28-31}; the permute restores order.
  const __m256i p16a = _mm256_packs_epi32(i0, i1);
  const __m256i p16b = _mm256_packs_epi32(i2, i3);
  const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
  const __m256i q = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), q);
  return sum;
}

}  // namespace

void quantize_row_q8_0_act(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    float d = 0.0f;
    quantize_block_q8(src + i * kQK8_0, &y[i].d, y[i].qs, &d);
  }
}

void quantize_row_q8_1_act(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK8_1; ++i) {
    float d = 0.0f;
    const int sum = quantize_block_q8(src + i * kQK8_1, &y[i].d, y[i].qs, &d);
    y[i].s = _cvtss_sh(d * static_cast<float>(sum), _MM_FROUND_TO_NEAREST_INT);
  }
}

void vec_dot_q4_0_q8_0(int64_t n, float* s, const void* w, const void* a) {
  *s = dot_blocks_q4_0_repacked(n / kQK4_0, static_cast<const BlockQ4_0*>(w),
                                static_cast<const BlockQ8_0*>(a));
}

void vec_dot_q4_1_q8_1(int64_t n, float* s, const void* w, const void* a) {
  *s = dot_blocks_with_min<DotQ4_1>(n / kQK4_1, static_cast<const BlockQ4_1*>(w),
                                    static_cast<const BlockQ8_1*>(a));
}

void vec_dot_q5_0_q8_0(int64_t n, float* s, const void* w, const void* a) {
  *s = dot_blocks_ggml<DotQ5_0>(n / kQK5_0, static_cast<const BlockQ5_0*>(w),
                                static_cast<const BlockQ8_0*>(a));
}

void vec_dot_q5_1_q8_1(int64_t n, float* s, const void* w, const void* a) {
  *s = dot_blocks_with_min<DotQ5_1>(n / kQK5_1, static_cast<const BlockQ5_1*>(w),
                                    static_cast<const BlockQ8_1*>(a));
}

void vec_dot_q8_0_q8_0(int64_t n, float* s, const void* w, const void* a) {
  *s = dot_blocks_ggml<DotQ8_0>(n / kQK8_0, static_cast<const BlockQ8_0*>(w),
                                static_cast<const BlockQ8_0*>(a));
}

}  // namespace quire::engine::avx2
