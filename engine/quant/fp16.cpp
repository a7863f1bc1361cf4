// Scalar half-precision conversions. Bit layouts:
//   binary32: sign(1) exponent(8, bias 127) mantissa(23)
//   binary16: sign(1) exponent(5, bias 15)  mantissa(10)
//   bfloat16: the top 16 bits of a binary32
// Rebiasing an exponent from binary16 to binary32 adds 127 - 15 = 112.
#include "engine/quant/fp16.h"

#include <bit>

namespace quire::engine {

namespace {

constexpr uint32_t kF32ExpMask = 0x7f800000u;
constexpr uint32_t kF32AbsMask = 0x7fffffffu;
constexpr uint32_t kF32QuietBit = 0x00400000u;
constexpr uint32_t kRebias = 112;

}  // namespace

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits = 0;
  if (exponent == 0x1f) {
    // Inf or NaN. F16C delivers every NaN quiet, keeping the payload bits.
    bits = sign | kF32ExpMask | (mantissa << 13) | (mantissa != 0 ? kF32QuietBit : 0);
  } else if (exponent != 0) {
    bits = sign | ((exponent + kRebias) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal m * 2^-24: every binary16 subnormal is a binary32 normal. Shift the leading one
    // into the implicit-bit position (bit 10); each shift lowers the exponent by one.
    uint32_t e = 1;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | ((e + kRebias) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t fp32_to_fp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & kF32AbsMask;

  if (ax > kF32ExpMask) {
    // NaN: quiet, keeping the top 10 payload bits (what F16C does).
    return static_cast<uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
  }
  // 65520 = 0x477ff000 lies halfway between the largest half (65504, odd mantissa) and 2^16, so
  // round-to-nearest-even sends it, and everything above, to infinity.
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);

  if (ax >= 0x38800000u) {
    // Normal half (|f| >= 2^-14): drop 13 mantissa bits rounding to nearest even. A carry out of
    // the mantissa correctly bumps the exponent.
    const uint32_t rounded = ax + 0x0fffu + ((ax >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded - (kRebias << 23)) >> 13));
  }

  // Subnormal half: the result is round_even(|f| / 2^-24). With |f| = m * 2^(e - 150), m the
  // 24-bit significand, that is m >> (126 - e). Below e = 102 the value is under 2^-25 (half of
  // the smallest subnormal) and rounds to zero; so do binary32 zeros and subnormals.
  const uint32_t e = ax >> 23;
  if (e < 102) return sign;
  const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126 - e;  // 14 .. 24
  uint32_t q = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (q & 1u) != 0)) ++q;  // q == 0x400 is the smallest normal
  return static_cast<uint16_t>(sign | q);
}

float bf16_to_fp32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

uint16_t fp32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  // NaN: truncate and set bit 6 of the bf16 (mantissa bit 22 of the f32), making it quiet even
  // when the payload lived only in the dropped low bits.
  if ((x & kF32AbsMask) > kF32ExpMask) return static_cast<uint16_t>((x >> 16) | 64u);
  // Round to nearest even on the 16 dropped bits; overflow carries into infinity as it should.
  return static_cast<uint16_t>((x + (0x7fffu + ((x >> 16) & 1u))) >> 16);
}

}  // namespace quire::engine
