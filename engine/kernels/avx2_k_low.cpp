// AVX2 dot products of Q2_K / Q3_K weights with Q8_K activations. Same maths as the reference
// in engine/quant/quant_k_low.cpp (see its comments for the layout and the bounds):
//   Q2_K: d_a d sum_s sc_s sum_l q_l q8_l  -  d_a dmin sum_s mn_s bsums_s
//   Q3_K: d_a d sum_s sc_s sum_l v_l q8_l
//
// Integer part, per super-block: qs holds two halves of 32 bytes; shift step k of half h gives
// the 32 weights 128h + 32k .. +31, i.e. sub-blocks s = 8h + 2k (bytes 0..15) and s + 1 (bytes
// 16..31), matching the 128-bit lanes of a ymm register. So one step is
//   levels (bytes) --maddubs with 32 activations--> 16 int16 (8 per sub-block)
//                  --madd with 8 x sc_s | 8 x sc_{s+1} (int16)--> 8 int32, accumulated,
// and the integer sums are exactly the reference's.
//
// Float part: like the reference, each super-block's sums are reduced to scalars, scaled in
// double (exact products, one rounding) and added to a double in block order, so every n gives
// the reference's float. Reducing one super-block at a time cost ~15% of the Q2_K kernel, so
// full groups of 4 super-blocks are reduced together (4 x 8 lanes -> 4 sums in one hadd tree)
// and scaled as 4 doubles at once; the additions stay sequential.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/avx2.h"
#include "engine/quant/blocks.h"

namespace quire::engine::avx2 {
namespace {

// Byte-shuffle control for sub-block pair 0 of 16 byte scales held in both 128-bit lanes:
// byte 0 to the low half of every int16 of the low lane, byte 1 likewise in the high lane, 0x80
// zeroing the high halves. Adding 2m to every byte selects pair m (bytes 2m, 2m+1); the 0x80
// entries stay >= 0x80 and keep zeroing. Stepping one register costs fewer live registers than
// eight constants.
inline __m256i byte_pair_ctrl() {
  return _mm256_setr_m128i(_mm_set1_epi16(0x8000), _mm_set1_epi16(static_cast<int16_t>(0x8001)));
}

// Byte-shuffle control for sub-block pair m (0..3) of 8 int16 scales held in both 128-bit lanes:
// int16 scale 2m to every element of the low lane, 2m + 1 to every element of the high lane.
template <int m>
inline __m256i pair_ctrl() {
  constexpr int16_t kLow = (4 * m) | ((4 * m + 1) << 8);
  constexpr int16_t kHigh = (4 * m + 2) | ((4 * m + 3) << 8);
  return _mm256_setr_m128i(_mm_set1_epi16(kLow), _mm_set1_epi16(kHigh));
}

// 16 int16 scales (sub-blocks 0..7 in the low lane, 8..15 in the high lane) split into the two
// halves of a super-block, each copied to both lanes for pair_ctrl.
struct HalfScales {
  __m256i first;   // scales 0..7
  __m256i second;  // scales 8..15
};

inline HalfScales split_scales(__m256i scales16) {
  return {_mm256_permute2x128_si256(scales16, scales16, 0x00),
          _mm256_permute2x128_si256(scales16, scales16, 0x11)};
}

constexpr int kGroup = 4;  // super-blocks reduced together

// Sums of 8 int32 lanes for 4 vectors a, b, c, d (exact: the reference's int32 sums fit) in two
// stages, so that the first can run as soon as two super-blocks are done (fewer vectors live
// across the group; the 16 ymm registers are tight):
//   hsum_pair(a, b): per 128-bit lane a0+a1 a2+a3 b0+b1 b2+b3;
//   hsum_finish(ab, cd) = {sum a, sum b, sum c, sum d}.
inline __m256i hsum_pair(__m256i a, __m256i b) {
  return _mm256_hadd_epi32(a, b);
}

inline __m128i hsum_finish(__m256i ab, __m256i cd) {
  const __m256i h = _mm256_hadd_epi32(ab, cd);
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// Adds the 4 doubles of t to acc in lane order (the reference's order of blocks).
inline double add_in_order(double acc, __m256d t) {
  const __m128d lo = _mm256_castpd256_pd128(t), hi = _mm256_extractf128_pd(t, 1);
  acc += _mm_cvtsd_f64(lo);
  acc += _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo));
  acc += _mm_cvtsd_f64(hi);
  acc += _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi));
  return acc;
}

// The float d_a * fp16 of 4 consecutive super-blocks, widened to double (exact). fp16 fields
// are read by value: the blocks are only 2-byte aligned.
inline __m256d scales4(const BlockQ8_K* y, uint16_t h0, uint16_t h1, uint16_t h2, uint16_t h3) {
  const __m128 d_a = _mm_setr_ps(y[0].d, y[1].d, y[2].d, y[3].d);
  const __m128 d_w =
      _mm_cvtph_ps(_mm_setr_epi16(static_cast<int16_t>(h0), static_cast<int16_t>(h1),
                                  static_cast<int16_t>(h2), static_cast<int16_t>(h3), 0, 0, 0, 0));
  return _mm256_cvtps_pd(_mm_mul_ps(d_a, d_w));
}

// Q3_K scales as in the reference (q3_k_scale), all 16 at once: with the 12 bytes read as
// little-endian words w0 (bytes 0..3), w1 (4..7), w2 (8..11), scales 4g .. 4g+3 (g = 0..3) are
// the bytes of ((w0, w1, w0 >> 4, w1 >> 4)[g] & 0x0f0f0f0f) | (((w2 >> 2g) & 0x03030303) << 4).
// Built in registers (a store of four words reloaded as one xmm would stall store forwarding).
inline __m128i unpack_q3_k_scales(const uint8_t* packed) {
  uint32_t w2;
  std::memcpy(&w2, packed + 8, sizeof(w2));
  const __m128i w01 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(packed));
  const __m128i low =
      _mm_and_si128(_mm_srlv_epi32(_mm_unpacklo_epi64(w01, w01), _mm_setr_epi32(0, 0, 4, 4)),
                    _mm_set1_epi8(0x0f));
  const __m128i high = _mm_and_si128(
      _mm_srlv_epi32(_mm_set1_epi32(static_cast<int>(w2)), _mm_setr_epi32(0, 2, 4, 6)),
      _mm_set1_epi8(0x03));
  return _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi32(high, 4)), _mm_set1_epi8(32));
}

// High bit of each Q3_K level for shift step k (bit k of every hmask byte), moved to bit 2 of
// its byte. 16-bit shifts are fine: only bit 2 of each byte is kept afterwards, and it comes from
// the same byte.
template <int k>
inline __m256i hmask_bit_at_2(__m256i hm) {
  __m256i moved;
  if constexpr (k < 2) {
    moved = _mm256_slli_epi16(hm, 2 - k);
  } else if constexpr (k == 2) {
    moved = hm;
  } else {
    moved = _mm256_srli_epi16(hm, k - 2);
  }
  return _mm256_and_si256(moved, _mm256_set1_epi8(4));
}

// Step j (0..7) of a super-block: shift step j % 4 of half j / 4, i.e. weights 32j .. 32j+31
// of sub-blocks 2j and 2j+1. `q` is the half's 32 qs bytes; `scales` the 16 byte scales in both
// lanes, `ctrl` byte_pair_ctrl() advanced to pair j.
template <int j>
inline __m256i q2_k_step(__m256i q, const int8_t* a8, __m256i scales, __m256i ctrl) {
  constexpr int k = j % 4;
  const __m256i levels = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), _mm256_set1_epi8(3));
  const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a8 + 32 * j));
  const __m256i prod16 = _mm256_maddubs_epi16(levels, act);
  return _mm256_madd_epi16(prod16, _mm256_shuffle_epi8(scales, ctrl));
}

// As q2_k_step for Q3_K, with unsigned levels u = v + 4 in 0..7 (maddubs needs one unsigned
// operand); the 4 * sum(q8) this adds per sub-block is removed with the bsums.
template <int j>
inline __m256i q3_k_step(__m256i q, __m256i hm, const int8_t* a8, __m256i scales) {
  constexpr int k = j % 4;
  const __m256i low = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), _mm256_set1_epi8(3));
  const __m256i levels = _mm256_or_si256(low, hmask_bit_at_2<j>(hm));
  const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a8 + 32 * j));
  const __m256i prod16 = _mm256_maddubs_epi16(levels, act);
  return _mm256_madd_epi16(prod16, _mm256_shuffle_epi8(scales, pair_ctrl<k>()));
}

// Integer sums of one Q2_K super-block as 8 int32 partial sums each:
// scaled = sum_s sc_s sum_l q_l q8_l, mins = sum_s mn_s bsums_s.
struct Q2KSums {
  __m256i scaled;
  __m256i mins;
};

[[gnu::always_inline]] inline Q2KSums q2_k_sums(const BlockQ2_K& x, const BlockQ8_K& y) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales));
  const __m128i nibble = _mm_set1_epi8(15);
  const __m128i sc = _mm_and_si128(packed, nibble);
  const __m128i mn = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
  const __m256i mins = _mm256_madd_epi16(
      _mm256_cvtepu8_epi16(mn), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y.bsums)));
  const __m256i scales = _mm256_broadcastsi128_si256(sc);

  const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs));
  const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + 32));
  const int8_t* a8 = y.qs;
  const __m256i two = _mm256_set1_epi8(2);
  __m256i ctrl = byte_pair_ctrl();
  __m256i sum = q2_k_step<0>(q0, a8, scales, ctrl);
  ctrl = _mm256_add_epi8(ctrl, two);
  sum = _mm256_add_epi32(sum, q2_k_step<1>(q0, a8, scales, ctrl));
  ctrl = _mm256_add_epi8(ctrl, two);
  sum = _mm256_add_epi32(sum, q2_k_step<2>(q0, a8, scales, ctrl));
  ctrl = _mm256_add_epi8(ctrl, two);
  sum = _mm256_add_epi32(sum, q2_k_step<3>(q0, a8, scales, ctrl));
  ctrl = _mm256_add_epi8(ctrl, two);
  sum = _mm256_add_epi32(sum, q2_k_step<4>(q1, a8, scales, ctrl));
  ctrl = _mm256_add_epi8(ctrl, two);
  sum = _mm256_add_epi32(sum, q2_k_step<5>(q1, a8, scales, ctrl));
  ctrl = _mm256_add_epi8(ctrl, two);
  sum = _mm256_add_epi32(sum, q2_k_step<6>(q1, a8, scales, ctrl));
  ctrl = _mm256_add_epi8(ctrl, two);
  sum = _mm256_add_epi32(sum, q2_k_step<7>(q1, a8, scales, ctrl));
  return {sum, mins};
}

// sum_s sc_s sum_l v_l q8_l of one Q3_K super-block as 8 int32 partial sums.
[[gnu::always_inline]] inline __m256i q3_k_sums(const BlockQ3_K& x, const BlockQ8_K& y) {
  const __m256i sc16 = _mm256_cvtepi8_epi16(unpack_q3_k_scales(x.scales));
  // 4 * sum_s sc_s * bsums_s: what the unsigned levels add.
  const __m256i bias = _mm256_slli_epi32(
      _mm256_madd_epi16(sc16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y.bsums))), 2);
  const HalfScales scales = split_scales(sc16);

  const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.hmask));
  const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs));
  const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + 32));
  const int8_t* a8 = y.qs;
  __m256i sum = q3_k_step<0>(q0, hm, a8, scales.first);
  sum = _mm256_add_epi32(sum, q3_k_step<1>(q0, hm, a8, scales.first));
  sum = _mm256_add_epi32(sum, q3_k_step<2>(q0, hm, a8, scales.first));
  sum = _mm256_add_epi32(sum, q3_k_step<3>(q0, hm, a8, scales.first));
  sum = _mm256_add_epi32(sum, q3_k_step<4>(q1, hm, a8, scales.second));
  sum = _mm256_add_epi32(sum, q3_k_step<5>(q1, hm, a8, scales.second));
  sum = _mm256_add_epi32(sum, q3_k_step<6>(q1, hm, a8, scales.second));
  sum = _mm256_add_epi32(sum, q3_k_step<7>(q1, hm, a8, scales.second));
  return _mm256_sub_epi32(sum, bias);
}

}  // namespace

void vec_dot_q2_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const int64_t nb = n / kQK_K;
  double acc = 0.0;
  int64_t b = 0;
  for (; b + kGroup <= nb; b += kGroup) {
    const Q2KSums s0 = q2_k_sums(x[b], y[b]);
    const Q2KSums s1 = q2_k_sums(x[b + 1], y[b + 1]);
    const __m256i scaled01 = hsum_pair(s0.scaled, s1.scaled);
    const __m256i mins01 = hsum_pair(s0.mins, s1.mins);
    const Q2KSums s2 = q2_k_sums(x[b + 2], y[b + 2]);
    const Q2KSums s3 = q2_k_sums(x[b + 3], y[b + 3]);
    const __m256d scaled =
        _mm256_cvtepi32_pd(hsum_finish(scaled01, hsum_pair(s2.scaled, s3.scaled)));
    const __m256d mins = _mm256_cvtepi32_pd(hsum_finish(mins01, hsum_pair(s2.mins, s3.mins)));
    const __m256d dall = scales4(y + b, x[b].d, x[b + 1].d, x[b + 2].d, x[b + 3].d);
    const __m256d dmin = scales4(y + b, x[b].dmin, x[b + 1].dmin, x[b + 2].dmin, x[b + 3].dmin);
    acc = add_in_order(acc, _mm256_sub_pd(_mm256_mul_pd(dall, scaled), _mm256_mul_pd(dmin, mins)));
  }
  for (; b < nb; ++b) {
    const Q2KSums sums = q2_k_sums(x[b], y[b]);
    const __m256i pair = hsum_pair(sums.scaled, sums.mins);
    const __m128i total = hsum_finish(pair, pair);
    const float dall = y[b].d * _cvtsh_ss(x[b].d);
    const float dmin = y[b].d * _cvtsh_ss(x[b].dmin);
    acc += static_cast<double>(dall) * _mm_cvtsi128_si32(total) -
           static_cast<double>(dmin) * _mm_extract_epi32(total, 1);
  }
  *s = static_cast<float>(acc);
}

void vec_dot_q3_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const int64_t nb = n / kQK_K;
  double acc = 0.0;
  int64_t b = 0;
  for (; b + kGroup <= nb; b += kGroup) {
    // Named in block order: the arguments of one call could be evaluated in any order, and
    // walking the blocks backwards defeats the hardware prefetcher (2x slower from DRAM).
    const __m256i s0 = q3_k_sums(x[b], y[b]);
    const __m256i s1 = q3_k_sums(x[b + 1], y[b + 1]);
    const __m256i s01 = hsum_pair(s0, s1);
    const __m256i s2 = q3_k_sums(x[b + 2], y[b + 2]);
    const __m256i s3 = q3_k_sums(x[b + 3], y[b + 3]);
    const __m256d sums = _mm256_cvtepi32_pd(hsum_finish(s01, hsum_pair(s2, s3)));
    const __m256d dall = scales4(y + b, x[b].d, x[b + 1].d, x[b + 2].d, x[b + 3].d);
    acc = add_in_order(acc, _mm256_mul_pd(dall, sums));
  }
  for (; b < nb; ++b) {
    const __m256i sum = q3_k_sums(x[b], y[b]);
    const __m256i pair = hsum_pair(sum, sum);
    const __m128i total = hsum_finish(pair, pair);
    const float dall = y[b].d * _cvtsh_ss(x[b].d);
    acc += static_cast<double>(dall) * _mm_cvtsi128_si32(total);
  }
  *s = static_cast<float>(acc);
}

}  // namespace quire::engine::avx2
