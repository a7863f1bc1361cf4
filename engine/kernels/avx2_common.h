// Small AVX2 building blocks shared by the kernel files (avx2_*.cpp). Include only from sources
// compiled with -mavx2 -mfma -mf16c.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace quire::engine::avx2::common {

// The 8 lanes added as llama.cpp's hsum_float_8 does: (l_k + l_(k+4)), then lanes (0, 2) and
// (1, 3), then the two.
[[gnu::always_inline]] inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

[[gnu::always_inline]] inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// The 32 4-bit codes of a Q4_0 / Q5_0 block as bytes 0..31 in weight order (low nibbles are
// weights 0..15, high nibbles 16..31).
[[gnu::always_inline]] inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// Byte j = 0xff when bit j of the little-endian u32 qh is set, else 0.
[[gnu::always_inline]] inline __m256i expand_qh(const uint8_t* qh) {
  uint32_t h = 0;
  std::memcpy(&h, qh, sizeof(h));
  // Byte j takes byte j/8 of qh (both 128-bit halves hold a copy of qh), then tests bit j%8.
  const __m256i shuffle = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                             0x0202020202020202, 0x0303030303030303);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int32_t>(h)), shuffle);
  return _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
}

// The 12 scale bytes of Q4_K / Q5_K (read as 16: the block continues after them) as 16 bytes
// sc0..sc7, mn0..mn7. Byte-parallel form of the layout in FORMATS.md, four pairs per 32-bit word
// w0..w2: pairs 0..3 are the low 6 bits of w0 (scales) and w1 (mins); pairs 4..7 take their low
// 4 bits from the nibbles of w2 and their top 2 bits from bits 6..7 of each byte of w0 / w1,
// which (w >> 2) & 0x30 moves to bits 4..5 of the same byte.
[[gnu::always_inline]] inline __m128i unpack_scales_mins(const uint8_t* s) {
  const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  // dwords {w0, w2, w1, w2 >> 4} masked to 6 or 4 bits ...
  __m128i low = _mm_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0));
  low = _mm_srlv_epi32(low, _mm_setr_epi32(0, 0, 0, 4));
  low = _mm_and_si128(low, _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  // ... plus the top bits {0, (w0 >> 2) & 0x30, 0, (w1 >> 2) & 0x30}.
  __m128i top = _mm_srli_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0)), 2);
  top = _mm_and_si128(top, _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm_or_si128(low, top);
}

// Dword k (0..3) of v in every dword of its 128-bit lane; the switch keeps the immediate constant.
[[gnu::always_inline]] inline __m256i broadcast_scale(__m256i v, int k) {
  switch (k) {
    case 0:
      return _mm256_shuffle_epi32(v, 0x00);
    case 1:
      return _mm256_shuffle_epi32(v, 0x55);
    case 2:
      return _mm256_shuffle_epi32(v, 0xaa);
    default:
      return _mm256_shuffle_epi32(v, 0xff);
  }
}

// pshufb control: int16 element j across the low lane, element j + 1 across the high lane.
[[gnu::always_inline]] inline __m256i broadcast16_pair_control(int j) {
  const __m128i lo = _mm_set1_epi16(static_cast<int16_t>(((2 * j + 1) << 8) | (2 * j)));
  const __m128i hi = _mm_set1_epi16(static_cast<int16_t>(((2 * j + 3) << 8) | (2 * j + 2)));
  return _mm256_set_m128i(hi, lo);
}

}  // namespace quire::engine::avx2::common
