// Reference code for the 32-weight block types. Every block covers x[0..31] of its row:
//   Q4_0  x ~ d * (q - 8),       q in 0..15, d = max / -8    (max: the signed value of max |x|)
//   Q4_1  x ~ d * q + m,         q in 0..15, d = (max - min) / 15, m = min
//   Q5_0  x ~ d * (q - 16),      q in 0..31, d = max / -16
//   Q5_1  x ~ d * q + m,         q in 0..31, d = (max - min) / 31, m = min
//   Q8_0  x ~ d * q,             q in -127..127, d = amax / 127
//   Q8_1  as Q8_0, plus s = d * sum(q) (activations only)
// 4-bit values are packed two per byte: weight j in the low nibble of qs[j], weight j + 16 in the
// high nibble. Q5 keeps the fifth bit of weight j in bit j of the little-endian u32 qh.
//
// The weight quantizers reproduce llama.cpp's reference quantizers byte for byte: the scale is
// computed in f32 and the weights quantized with the f32 scale (not the f16 one that is stored),
// with the same truncating conversions (checked against q.<t> of quant-ref.gguf).
#include "engine/quant/quant_legacy.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"

namespace quire::engine {

namespace {

// The C cast (int)v for a float, with x86's answer (INT32_MIN) where C++ leaves it undefined
// (NaN, infinities, out of range). Only reachable with a near-zero scale whose reciprocal
// overflows; keeps those inputs defined without changing any in-range result.
int32_t truncate_to_int(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return INT32_MIN;
  return static_cast<int32_t>(v);
}

// llama.cpp's (int8_t)(v): truncate toward zero, keep the low byte.
int8_t truncate_to_int8(float v) {
  return static_cast<int8_t>(truncate_to_int(v) & 0xff);
}

// The element of largest magnitude, with its sign (the first one on ties).
float signed_absmax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

uint32_t load_qh(const uint8_t qh[4]) {
  uint32_t h = 0;
  std::memcpy(&h, qh, sizeof(h));  // little-endian host, as the file
  return h;
}

// 5-bit value j (0..31) of a Q5 block: low nibble from qs, fifth bit from qh.
int q5_value(const uint8_t* qs, uint32_t qh, int j) {
  const int nibble = j < 16 ? (qs[j] & 15) : (qs[j - 16] >> 4);
  return nibble | static_cast<int>(((qh >> j) & 1u) << 4);
}

// Q8 activation block: d = amax/127, q = round_half_even(x * 127/amax). Returns sum(q); *d_f32
// receives the unrounded scale.
int quantize_block_q8_act(const float* x, float* d_f32, uint16_t* d_out, int8_t* qs) {
  float amax = 0.0f;
  for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  *d_f32 = d;
  *d_out = fp32_to_fp16(d);
  int sum = 0;
  for (int j = 0; j < kQK8_0; ++j) {
    // |x * id| <= 127 up to one rounding, so the value fits; nearbyint rounds half to even in
    // the default rounding mode, like the x86 kernels' _mm256_round_ps.
    const int q = truncate_to_int(std::nearbyint(x[j] * id));
    qs[j] = static_cast<int8_t>(std::clamp(q, -128, 127));
    sum += qs[j];
  }
  return sum;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Dequantization (FORMATS.md). Integer values convert to float exactly; the products d * v are
// single roundings, Q4_1/Q5_1 then add m as a second rounding. llama.cpp's results are unfused;
// this file is built without an FMA target, so the compiler cannot contract d * v + m.

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    float* y = dst + i * kQK4_0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = static_cast<float>((x[i].qs[j] & 15) - 8) * d;
      y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK4_1; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float m = fp16_to_fp32(x[i].m);
    float* y = dst + i * kQK4_1;
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      y[j] = static_cast<float>(x[i].qs[j] & 15) * d + m;
      y[j + 16] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK5_0; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const uint32_t qh = load_qh(x[i].qh);
    float* y = dst + i * kQK5_0;
    for (int j = 0; j < kQK5_0; ++j) y[j] = static_cast<float>(q5_value(x[i].qs, qh, j) - 16) * d;
  }
}

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK5_1; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    const float m = fp16_to_fp32(x[i].m);
    const uint32_t qh = load_qh(x[i].qh);
    float* y = dst + i * kQK5_1;
    for (int j = 0; j < kQK5_1; ++j) y[j] = static_cast<float>(q5_value(x[i].qs, qh, j)) * d + m;
  }
}

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < kQK8_0; ++j) dst[i * kQK8_0 + j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

void dequantize_row_q8_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK8_1; ++i) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < kQK8_1; ++j) dst[i * kQK8_1 + j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

// ---------------------------------------------------------------------------------------------
// Weight quantizers. With d = max / -8 the extreme element maps to q = 0 and the others to
// round(x/d) + 8 computed as trunc(x/d + 8.5) (x/d + 8.5 >= 0.5 > 0, so truncation is floor);
// the clamp catches x/d = +8 (an element equal to -max), which has no 4-bit code.

void quantize_row_q4_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const float* x = src + i * kQK4_0;
    const float d = signed_absmax(x, kQK4_0) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int lo = std::min<int>(15, truncate_to_int8(x[j] * id + 8.5f));
      const int hi = std::min<int>(15, truncate_to_int8(x[j + 16] * id + 8.5f));
      y[i].qs[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
    }
  }
}

void quantize_row_q4_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / kQK4_1; ++i) {
    const float* x = src + i * kQK4_1;
    const float min = *std::min_element(x, x + kQK4_1);
    const float max = *std::max_element(x, x + kQK4_1);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(min);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      const int lo = std::min<int>(15, truncate_to_int8((x[j] - min) * id + 0.5f));
      const int hi = std::min<int>(15, truncate_to_int8((x[j + 16] - min) * id + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
    }
  }
}

void quantize_row_q5_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / kQK5_0; ++i) {
    const float* x = src + i * kQK5_0;
    const float d = signed_absmax(x, kQK5_0) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK5_0 / 2; ++j) {
      const int lo = std::min<int>(31, truncate_to_int8(x[j] * id + 16.5f));
      const int hi = std::min<int>(31, truncate_to_int8(x[j + 16] * id + 16.5f));
      y[i].qs[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
      qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quantize_row_q5_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / kQK5_1; ++i) {
    const float* x = src + i * kQK5_1;
    const float min = *std::min_element(x, x + kQK5_1);
    const float max = *std::max_element(x, x + kQK5_1);
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK5_1 / 2; ++j) {
      // (x - min) * id <= 31 up to one rounding, so + 0.5 truncates to at most 31.
      const int lo = truncate_to_int((x[j] - min) * id + 0.5f) & 0xff;
      const int hi = truncate_to_int((x[j + 16] - min) * id + 0.5f) & 0xff;
      y[i].qs[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
      qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const float* x = src + i * kQK8_0;
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    // roundf: halves away from zero (the weight quantizer; activations round half to even).
    for (int j = 0; j < kQK8_0; ++j) {
      y[i].qs[j] = static_cast<int8_t>(truncate_to_int(std::round(x[j] * id)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Activation quantizers (llama.cpp's x86 inference path).

void quantize_row_q8_0_act(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    float d = 0.0f;
    quantize_block_q8_act(src + i * kQK8_0, &d, &y[i].d, y[i].qs);
  }
}

void quantize_row_q8_1_act(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK8_1; ++i) {
    float d = 0.0f;
    const int sum = quantize_block_q8_act(src + i * kQK8_1, &d, &y[i].d, y[i].qs);
    // s uses the f32 d, not its f16 rounding; sum (|sum| <= 32 * 128) converts exactly.
    y[i].s = fp32_to_fp16(d * static_cast<float>(sum));
  }
}

// ---------------------------------------------------------------------------------------------
// Dot products. Per block an exact integer sum of weight value times activation value, then
//   sumf += sumi * (d_w * d_a)                 (Q4_0, Q5_0, Q8_0: symmetric weights)
//   sumf += (d_w * d_a) * sumi + m_w * s_a     (Q4_1, Q5_1: sum_j (d_w q_j + m_w) d_a a_j)
// in f32. d_w * d_a of two f16 values (11-bit significands) is exact in f32.

void vec_dot_q4_0_q8_0(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sumf = 0.0f;
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      sumi += ((x[i].qs[j] & 15) - 8) * y[i].qs[j];
      sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
    }
    sumf += static_cast<float>(sumi) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
  }
  *s = sumf;
}

void vec_dot_q4_1_q8_1(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float sumf = 0.0f;
  for (int64_t i = 0; i < n / kQK4_1; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      sumi += (x[i].qs[j] & 15) * y[i].qs[j];
      sumi += (x[i].qs[j] >> 4) * y[i].qs[j + 16];
    }
    const float dd = fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d);
    sumf += dd * static_cast<float>(sumi) + fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
  }
  *s = sumf;
}

void vec_dot_q5_0_q8_0(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sumf = 0.0f;
  for (int64_t i = 0; i < n / kQK5_0; ++i) {
    const uint32_t qh = load_qh(x[i].qh);
    int sumi = 0;
    for (int j = 0; j < kQK5_0; ++j) sumi += (q5_value(x[i].qs, qh, j) - 16) * y[i].qs[j];
    sumf += static_cast<float>(sumi) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
  }
  *s = sumf;
}

void vec_dot_q5_1_q8_1(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float sumf = 0.0f;
  for (int64_t i = 0; i < n / kQK5_1; ++i) {
    const uint32_t qh = load_qh(x[i].qh);
    int sumi = 0;
    for (int j = 0; j < kQK5_1; ++j) sumi += q5_value(x[i].qs, qh, j) * y[i].qs[j];
    const float dd = fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d);
    sumf += dd * static_cast<float>(sumi) + fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
  }
  *s = sumf;
}

void vec_dot_q8_0_q8_0(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sumf = 0.0f;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK8_0; ++j) sumi += x[i].qs[j] * y[i].qs[j];
    sumf += static_cast<float>(sumi) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
  }
  *s = sumf;
}

}  // namespace quire::engine
