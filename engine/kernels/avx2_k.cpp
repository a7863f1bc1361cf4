// AVX2 kernels for Q4_K, Q5_K and Q6_K weights against Q8_K activations, and the Q8_K activation
// quantizer. These are the inner loop of decode (a memory-bound matrix-vector product), so each
// super-block is decoded in registers and multiplied with maddubs (u8 x i8 -> i16 pairs) and
// madd (i16 x i16 -> i32 pairs, applying the sub-block scale).
//
// Rounding. Q4_K and Q6_K follow llama.cpp's x86 AVX2 ggml_vec_dot_q4_K_q8_K / _q6_K_q8_K (build
// 4748) operation for operation, so they are bit-identical to it (what the conformance goldens
// need): the int32 sums stay spread over 8 lanes (lane k: bytes 4k..4k+3 of each 32-weight
// register, already multiplied by the sub-block scale), each super-block adds
// fma(d * da, f32(lane), acc) per lane, and the lanes are added at the end (hsum8). The reference
// (engine/quant/quant_k.cpp) instead converts each super-block's total once and sums in double,
// so the two differ by f32 rounding (a few ulp per super-block of sum |terms|). Q5_K keeps the
// reference's per-block float (fma(-dmin*da, summ, d*da*sumi), a one-block row bit-identical to
// the reference) summed across super-blocks in f32.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/avx2.h"
#include "engine/kernels/avx2_common.h"
#include "engine/quant/blocks.h"

namespace quire::engine::avx2 {
namespace {

using namespace common;

inline float fp16_to_fp32(uint16_t h) {
  return _cvtsh_ss(h);
}

// Sums the 8 int32 lanes of a and of b; returns {sum a, sum b, sum a, sum b} as floats. The
// integer sums are exact, so the conversions round like the reference's static_cast<float>.
inline __m128 sum_lanes_pair(__m256i a, __m256i b) {
  const __m256i h = _mm256_hadd_epi32(a, b);  // per lane: a01 a23 b01 b23
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  s = _mm_hadd_epi32(s, s);
  return _mm_cvtepi32_ps(s);
}

// Integer sums of one Q4_K / Q5_K super-block against its Q8_K block, still spread over lanes:
// sum_lanes(sumi) = sum_j sc_j sum_k q_k a_k, sum_lanes(summ) = sum_j mn_j (bsums[2j] +
// bsums[2j+1]); dd_dm = {d * da, dmin * da, 0, 0}.
struct ScaleMinSums {
  __m256i sumi;
  __m256i summ;
  __m128 dd_dm;
};

// Q4_K and Q5_K share everything but the fifth bit: Bits5 = true ORs bit j of qh[l] into sub-block
// j's levels as 16.
template <bool Bits5, typename Block>
inline ScaleMinSums scale_min_block_sums(const Block& b, const BlockQ8_K& q8) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  // d and dmin are adjacent halves.
  uint32_t d_dmin;
  std::memcpy(&d_dmin, &b.d, sizeof(d_dmin));
  const __m128 dd_dm =
      _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d_dmin))), _mm_set1_ps(q8.d));

  const __m128i scales_mins = unpack_scales_mins(b.scales);  // bytes sc0..7, mn0..7
  // Both lanes sc0..sc7 as int16, then each scale doubled into a 32-bit word: dword k of
  // scales03 is (sc_k, sc_k), of scales47 (sc_4+k, sc_4+k), so pshufd with an immediate
  // broadcasts one sub-block's scale (no shuffle-control registers needed).
  const __m256i scales = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(scales_mins, scales_mins));
  const __m256i scales03 = _mm256_unpacklo_epi16(scales, scales);
  const __m256i scales47 = _mm256_unpackhi_epi16(scales, scales);
  // Mins: sum_j mn_j * (bsums[2j] + bsums[2j+1]) = sum_k mn_(k/2) bsums[k].
  const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(
      scales_mins, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
  const __m256i summ = _mm256_madd_epi16(mins, load256(q8.bsums));

  __m256i high = _mm256_setzero_si256();
  if constexpr (Bits5) high = load256(b.qh);
  __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    // 64 weights: low nibbles are sub-block 2g, high nibbles 2g+1. Levels <= 31 and |a| <= 128
    // keep each maddubs pair within int16.
    const __m256i packed = load256(b.qs + 32 * g);
    __m256i lo = _mm256_and_si256(packed, low4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4);
    if constexpr (Bits5) {
      // Bits 0 and 1 of (qh >> 2g) are the fifth bits of sub-blocks 2g and 2g+1; the 16-bit
      // shifts never carry a neighbour byte's bits into the ones read.
      lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(high, 4), bit4));
      hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(high, 3), bit4));
      high = _mm256_srli_epi16(high, 2);
    }
    const __m256i p_lo = _mm256_maddubs_epi16(lo, load256(q8.qs + 64 * g));
    const __m256i p_hi = _mm256_maddubs_epi16(hi, load256(q8.qs + 64 * g + 32));
    const __m256i sc_lo = broadcast_scale(g < 2 ? scales03 : scales47, (2 * g) % 4);
    const __m256i sc_hi = broadcast_scale(g < 2 ? scales03 : scales47, (2 * g + 1) % 4);
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, sc_lo));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, sc_hi));
  }
  return {sumi, summ, dd_dm};
}

// Q4_K in llama.cpp's AVX2 order (ggml_vec_dot_q4_K_q8_K, build 4748), bit-identical to it: per
// super-block, acc (8 lanes) = fma(d * da, f32(sumi lanes), acc) and acc_m (4 lanes) =
// fma(-(dmin * da), f32(prod), acc_m), where prod lane k = sum over sub-blocks 2k, 2k+1 of
// mn_j (bsums[2j] + bsums[2j+1]); at the end hsum8(acc) + ((m0 + m2) + (m1 + m3)).
inline float vec_dot_q4_k_ggml(int64_t n, const void* w, const void* a) {
  const auto* wb = static_cast<const BlockQ4_K*>(w);
  const auto* ab = static_cast<const BlockQ8_K*>(a);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const ScaleMinSums r = scale_min_block_sums<false>(wb[i], ab[i]);
    // summ lane k = mn_k (bsums[2k] + bsums[2k+1]); prod lane k = summ lanes 2k + 2k+1.
    const __m256i pairs = _mm256_hadd_epi32(r.summ, r.summ);
    const __m128i prod =
        _mm_unpacklo_epi64(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
    acc_m = _mm_fnmadd_ps(_mm_permute_ps(r.dd_dm, 0x55), _mm_cvtepi32_ps(prod), acc_m);
    acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(r.dd_dm), _mm256_cvtepi32_ps(r.sumi), acc);
  }
  acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
  acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
  return hsum8(acc) + _mm_cvtss_f32(acc_m);
}

// The per-block float is fma(-dm, summ, dd * sumi) of the block's own exact integer sums. Four
// blocks at a time share the second half of the horizontal reduction; a lone block (n = 256)
// takes the one-block path.
template <bool Bits5, typename Block>
inline float vec_dot_scale_min(int64_t n, const void* w, const void* a) {
  const auto* wb = static_cast<const Block*>(w);
  const auto* ab = static_cast<const BlockQ8_K*>(a);
  const int64_t nb = n / kQK_K;
  // Even lanes accumulate blocks; odd lanes hold junk and are never read.
  __m256 acc8 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    // Per block, hadd(sumi, summ) = {s01, s23, m01, m23 | s45, s67, m45, m67}.
    __m256i h[4];
    __m128 dd_dm[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const ScaleMinSums r = scale_min_block_sums<Bits5>(wb[i + k], ab[i + k]);
      h[k] = _mm256_hadd_epi32(r.sumi, r.summ);
      dd_dm[k] = r.dd_dm;
    }
    // {S0, M0, S1, M1 | S2, M2, S3, M3} and {dd0, dm0, dd1, dm1 | dd2, dm2, dd3, dm3}.
    const __m256i h01 = _mm256_hadd_epi32(h[0], h[1]);
    const __m256i h23 = _mm256_hadd_epi32(h[2], h[3]);
    const __m256 sm = _mm256_cvtepi32_ps(_mm256_add_epi32(
        _mm256_permute2x128_si256(h01, h23, 0x20), _mm256_permute2x128_si256(h01, h23, 0x31)));
    const __m256 dd =
        _mm256_set_m128(_mm_movelh_ps(dd_dm[2], dd_dm[3]), _mm_movelh_ps(dd_dm[0], dd_dm[1]));
    const __m256 blocks =
        _mm256_fnmadd_ps(_mm256_movehdup_ps(dd), _mm256_movehdup_ps(sm), _mm256_mul_ps(dd, sm));
    acc8 = _mm256_add_ps(acc8, blocks);
  }
  __m128 acc4 = _mm_add_ps(_mm256_castps256_ps128(acc8), _mm256_extractf128_ps(acc8, 1));
  __m128 acc = _mm_add_ss(acc4, _mm_movehl_ps(acc4, acc4));
  for (; i < nb; ++i) {
    const ScaleMinSums r = scale_min_block_sums<Bits5>(wb[i], ab[i]);
    const __m128 sums = sum_lanes_pair(r.sumi, r.summ);  // {sumi, summ, ...}
    const __m128 block =
        _mm_fnmadd_ss(_mm_movehdup_ps(r.dd_dm), _mm_movehdup_ps(sums), _mm_mul_ss(r.dd_dm, sums));
    acc = _mm_add_ss(acc, block);
  }
  return _mm_cvtss_f32(acc);
}

}  // namespace

void quantize_row_q8_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ8_K*>(dst);
  const __m256 sign = _mm256_set1_ps(-0.f);
  const __m256 magic = _mm256_set1_ps(12582912.f);  // 1.5 * 2^23, see nearest_int in quant_k.cpp
  const __m256i mantissa = _mm256_set1_epi32(0x007fffff);
  const __m256i offset = _mm256_set1_epi32(0x00400000);
  const __m256i max_level = _mm256_set1_epi32(127);
  const __m256i low_byte = _mm256_set1_epi32(0xff);
  const __m256i byte_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    BlockQ8_K& b = blocks[i];
    // max_ps(v, acc) returns acc when v is NaN, so NaNs are skipped as the reference's '>' does.
    __m256 vmax = _mm256_setzero_ps();
    for (int l = 0; l < kQK_K; l += 8) {
      vmax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + l)), vmax);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (amax == 0.f) {
      b.d = 0.f;
      std::memset(b.qs, 0, sizeof(b.qs));
      std::memset(b.bsums, 0, sizeof(b.bsums));
      continue;
    }
    // The reference keeps the first element reaching amax (with its sign).
    const __m256 vamax = _mm256_set1_ps(amax);
    float max = 0.f;
    for (int l = 0; l < kQK_K; l += 8) {
      const __m256 ax = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + l));
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(ax, vamax, _CMP_EQ_OQ));
      if (mask != 0) {
        max = x[l + __builtin_ctz(static_cast<unsigned>(mask))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 viscale = _mm256_set1_ps(iscale);
    for (int l = 0; l < kQK_K; l += 32) {
      __m256i r[4];
      for (int k = 0; k < 4; ++k) {
        __m256 prod = _mm256_mul_ps(viscale, _mm256_loadu_ps(x + l + 8 * k));
        // Keeps the compiler from fusing the product into the next add as an FMA: the
        // reference rounds the product first.
        asm("" : "+x"(prod));
        const __m256i bits = _mm256_castps_si256(_mm256_add_ps(prod, magic));
        // nearest_int, min(127, .), then the low byte as the reference's int8_t conversion.
        const __m256i v = _mm256_sub_epi32(_mm256_and_si256(bits, mantissa), offset);
        r[k] = _mm256_and_si256(_mm256_min_epi32(v, max_level), low_byte);
      }
      // Each pack interleaves its sources per 128-bit lane; byte_order restores the order.
      const __m256i packed =
          _mm256_packus_epi16(_mm256_packus_epi32(r[0], r[1]), _mm256_packus_epi32(r[2], r[3]));
      const __m256i q = _mm256_permutevar8x32_epi32(packed, byte_order);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(b.qs + l), q);
      // bsums of these 32 levels: sad of (q + 128) gives sums of 8 bytes, each 1024 too large.
      const __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(q, bias), _mm256_setzero_si256());
      const __m256i pair = _mm256_add_epi64(sad, _mm256_shuffle_epi32(sad, 0x4e));
      b.bsums[l / 16] = static_cast<int16_t>(_mm256_extract_epi32(pair, 0) - 2048);
      b.bsums[l / 16 + 1] = static_cast<int16_t>(_mm256_extract_epi32(pair, 4) - 2048);
    }
    b.d = 1.f / iscale;
  }
}

void vec_dot_q4_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  *s = vec_dot_q4_k_ggml(n, w, a);
}

void vec_dot_q5_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  *s = vec_dot_scale_min<true, BlockQ5_K>(n, w, a);
}

void vec_dot_q6_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  const auto* wb = static_cast<const BlockQ6_K*>(w);
  const auto* ab = static_cast<const BlockQ8_K*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i top2 = _mm256_set1_epi8(0x30);
  const __m256i offset32 = _mm256_set1_epi8(32);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ6_K& b = wb[i];
    const BlockQ8_K& q8 = ab[i];
    const float dd = q8.d * fp16_to_fp32(b.d);
    const __m256i scales =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
    __m256i sumi = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      // Scales 8h..8h+7 in both lanes; register m of this half covers sub-blocks 2m (low lane)
      // and 2m + 1 (high lane).
      const __m256i sc = h == 0 ? _mm256_permute2x128_si256(scales, scales, 0x00)
                                : _mm256_permute2x128_si256(scales, scales, 0x11);
      const __m256i ql0 = load256(b.ql + 64 * h);
      const __m256i ql1 = load256(b.ql + 64 * h + 32);
      const __m256i qh = load256(b.qh + 32 * h);
      // Top bits at shifts 0, 2, 4, 6 of qh move to bits 4..5; 16-bit shifts by 2 or 4 never
      // bring a neighbour byte's bits into bits 4..5.
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(ql0, low4),
                                         _mm256_and_si256(_mm256_slli_epi16(qh, 4), top2));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                                         _mm256_and_si256(_mm256_slli_epi16(qh, 2), top2));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                                         _mm256_and_si256(qh, top2));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), top2));
      const int8_t* a8 = q8.qs + 128 * h;
      const __m256i a0 = load256(a8), a1 = load256(a8 + 32);
      const __m256i a2 = load256(a8 + 64), a3 = load256(a8 + 96);
      // Pair sums of (q - 32) a, exact in int16: |each| <= 2 * 32 * 128 = 8192 (the two
      // maddubs are at most 16128 and 8192 in magnitude). The lanes then hold the same
      // integers as llama.cpp's, which subtracts the 32 the same way.
      const __m256i p0 =
          _mm256_sub_epi16(_mm256_maddubs_epi16(q0, a0), _mm256_maddubs_epi16(offset32, a0));
      const __m256i p1 =
          _mm256_sub_epi16(_mm256_maddubs_epi16(q1, a1), _mm256_maddubs_epi16(offset32, a1));
      const __m256i p2 =
          _mm256_sub_epi16(_mm256_maddubs_epi16(q2, a2), _mm256_maddubs_epi16(offset32, a2));
      const __m256i p3 =
          _mm256_sub_epi16(_mm256_maddubs_epi16(q3, a3), _mm256_maddubs_epi16(offset32, a3));
      sumi = _mm256_add_epi32(
          sumi, _mm256_madd_epi16(p0, _mm256_shuffle_epi8(sc, broadcast16_pair_control(0))));
      sumi = _mm256_add_epi32(
          sumi, _mm256_madd_epi16(p1, _mm256_shuffle_epi8(sc, broadcast16_pair_control(2))));
      sumi = _mm256_add_epi32(
          sumi, _mm256_madd_epi16(p2, _mm256_shuffle_epi8(sc, broadcast16_pair_control(4))));
      sumi = _mm256_add_epi32(
          sumi, _mm256_madd_epi16(p3, _mm256_shuffle_epi8(sc, broadcast16_pair_control(6))));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc);
}

}  // namespace quire::engine::avx2
