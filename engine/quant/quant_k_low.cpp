// Reference code for Q2_K and Q3_K: dequantizers (bit-exact with llama.cpp), weight quantizers
// and dot products with Q8_K activations. Block layouts in blocks.h, rules in FORMATS.md.
//
// Both types cut a 256-weight super-block into 16 sub-blocks of 16 weights with one small
// integer scale each. Sub-block s covers weights 16s .. 16s+15 and is stored by FORMATS.md's
// walk (two halves of 128, four 2-bit shifts, two 16-weight parts):
//   half h = s / 8, step k = (s % 8) / 2, part p = s % 2;
//   weight 16s + l is bits 2k..2k+1 of qs[32h + 16p + l] and, for Q3_K, its high bit is bit
//   4h + k of hmask[16p + l].
//   Q2_K: y = (d * sc_s) * q - (dmin * mn_s),  q in 0..3, sc_s and mn_s in 0..15
//   Q3_K: y = (d * sc_s) * v,                  v in -4..3, sc_s in -32..31
// Every product in these formulas is exact in float (an fp16 mantissa of 11 bits times a scale
// of at most 6 bits times a level of at most 3 bits), so only the Q2_K subtraction rounds and
// contraction to FMA cannot change a result.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quant_k.h"

namespace quire::engine {
namespace {

constexpr int kSubBlock = 16;                  // weights per sub-block
constexpr int kSubBlocks = kQK_K / kSubBlock;  // sub-blocks per super-block
constexpr int kQ2Levels = 3;                   // Q2_K levels 0..3
constexpr int kQ2ScaleMax = 15;                // 4-bit scales and mins
constexpr int kQ3LevelMin = -4;                // Q3_K levels -4..3
constexpr int kQ3LevelMax = 3;
constexpr int kQ3ScaleMin = -32;  // signed 6-bit scales, stored + 32
constexpr int kQ3ScaleMax = 31;

// Where weight 16*sub + l of a super-block lives (see the header comment).
struct Slot {
  int byte;   // index into qs; the Q3_K hmask byte is byte % 32
  int shift;  // bit position of the 2 low bits in that byte
  int hbit;   // Q3_K: bit of hmask[byte % 32] holding the high bit
};

Slot slot_of(int sub, int l) {
  const int half = sub / 8, step = (sub % 8) / 2, part = sub % 2;
  return {32 * half + 16 * part + l, 2 * step, 4 * half + step};
}

// v rounded to the nearest integer (ties to even) and clamped to [lo, hi]; NaN gives lo.
// Within the clamp, adding 1.5 * 2^23 leaves no fraction bits, so the addition rounds exactly
// as nearbyint does in the default rounding mode (and is inline, unlike nearbyintf).
int round_clamped(float v, int lo, int hi) {
  if (!(v >= static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  return static_cast<int>((v + kMagic) - kMagic);
}

// floor(v) clamped to [lo, hi]; NaN gives lo (a float -> int conversion out of range is UB).
int floor_clamped(float v, int lo, int hi) {
  if (!(v >= static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(std::floor(v));
}

// Q3_K scale i: low nibble from byte i (i < 8) or the high nibble of byte i - 8, top two bits
// from byte 8 + i % 4 at bit 2 * (i / 4); stored with +32.
int q3_k_scale(const uint8_t* scales, int i) {
  const int low = i < 8 ? (scales[i] & 15) : (scales[i - 8] >> 4);
  const int high = (scales[8 + i % 4] >> (2 * (i / 4))) & 3;
  return (low | (high << 4)) - 32;
}

void pack_q3_k_scales(const int* scale, uint8_t* scales) {
  std::memset(scales, 0, kKScaleBytes);
  for (int i = 0; i < kSubBlocks; ++i) {
    const int stored = scale[i] + 32;  // 0..63
    if (i < 8) {
      scales[i] |= static_cast<uint8_t>(stored & 15);
    } else {
      scales[i - 8] |= static_cast<uint8_t>((stored & 15) << 4);
    }
    scales[8 + i % 4] |= static_cast<uint8_t>((stored >> 4) << (2 * (i / 4)));
  }
}

// ---------------------------------------------------------------------------------------------
// Quantizer building blocks.
//
// Error measure: sum_i w_i (x_i - y_i)^2 over a super-block with w_i = sigma2 + x_i^2, sigma2 the
// mean square of the super-block. The sigma2 term keeps every weight in play (plain squared
// error); the x^2 term leans towards reproducing large weights, which carry most of a layer's
// output.

void fill_importance(const float* x, float* w) {
  double sum_sq = 0.0;
  for (int i = 0; i < kQK_K; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float sigma2 = static_cast<float>(sum_sq / kQK_K);
  for (int i = 0; i < kQK_K; ++i) w[i] = sigma2 + x[i] * x[i];
}

// Q2_K sub-block model y = scale * q - min, q in 0..3, scale >= 0, min >= 0 (the reconstructed
// range always includes 0, as the format's unsigned mins imply).
struct AffineFit {
  float scale = 0.0f;
  float min = 0.0f;
};

// Chooses the nearest level for every x under `fit` (written to q) and returns the weighted
// squared error.
float affine_requantize(const float* x, const float* w, AffineFit fit, uint8_t* q) {
  float err = 0.0f;
  const float inv = fit.scale > 0.0f ? 1.0f / fit.scale : 0.0f;
  for (int i = 0; i < kSubBlock; ++i) {
    const int l = round_clamped((x[i] + fit.min) * inv, 0, kQ2Levels);
    q[i] = static_cast<uint8_t>(l);
    const float diff = x[i] - (fit.scale * static_cast<float>(l) - fit.min);
    err += w[i] * diff * diff;
  }
  return err;
}

// Weighted least squares of x ~ a*q + c over fixed q, with a >= 0 and c <= 0 (min = -c):
//   [Swqq Swq] [a]   [Swxq]
//   [Swq  Sw ] [c] = [Swx ]
// *err = sum w (x - a q - c)^2 of the result, from the same sums.
AffineFit fit_affine(const float* x, const float* w, const uint8_t* q, float* err) {
  double sw = 0, swq = 0, swqq = 0, swx = 0, swxq = 0, swxx = 0;
  for (int i = 0; i < kSubBlock; ++i) {
    const double qi = q[i];
    sw += w[i];
    swq += w[i] * qi;
    swqq += w[i] * qi * qi;
    swx += w[i] * x[i];
    swxq += w[i] * x[i] * qi;
    swxx += w[i] * x[i] * x[i];
  }
  const double det = swqq * sw - swq * swq;
  double a = 0.0, c = 0.0;
  if (det > 0.0) {
    a = (sw * swxq - swq * swx) / det;
    c = (swqq * swx - swq * swxq) / det;
  }
  if (det <= 0.0 || c > 0.0 || a < 0.0) {
    // Constrained optimum lies on an edge: c = 0 (scale only) or a = 0 (constant).
    c = 0.0;
    a = swqq > 0.0 ? std::max(0.0, swxq / swqq) : 0.0;
    if (a == 0.0 && sw > 0.0) c = std::min(0.0, swx / sw);
  }
  const AffineFit fit{static_cast<float>(a), static_cast<float>(-c)};
  a = fit.scale;
  c = -fit.min;
  *err = static_cast<float>(std::max(
      0.0, swxx - 2 * a * swxq - 2 * c * swx + a * a * swqq + 2 * a * c * swq + c * c * sw));
  return fit;
}

// Best (scale, min) for one Q2_K sub-block: a grid of step sizes spanning [min(x,0), max(x)]
// (the step slightly shorter or longer than range/3 trades clipping for resolution), each
// refitted by least squares, then alternating nearest-level / least-squares until no gain.
AffineFit search_affine(const float* x, const float* w) {
  float lo = 0.0f, hi = x[0];
  for (int i = 0; i < kSubBlock; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (!(hi > lo)) return {0.0f, -lo};  // constant sub-block (zero included)
  uint8_t q[kSubBlock];
  AffineFit best{(hi - lo) / kQ2Levels, -lo};
  float best_err = affine_requantize(x, w, best, q);
  for (int step = -6; step <= 12; ++step) {
    const float iscale = (kQ2Levels + 0.1f * static_cast<float>(step)) / (hi - lo);
    for (int i = 0; i < kSubBlock; ++i) {
      q[i] = static_cast<uint8_t>(round_clamped(iscale * (x[i] - lo), 0, kQ2Levels));
    }
    float err;
    const AffineFit fit = fit_affine(x, w, q, &err);
    if (err < best_err) {
      best_err = err;
      best = fit;
    }
  }
  best_err = affine_requantize(x, w, best, q);  // nearest levels: no worse than the fit's own
  for (int iter = 0; iter < 8; ++iter) {
    float fit_err;
    const AffineFit fit = fit_affine(x, w, q, &fit_err);
    const float err = affine_requantize(x, w, fit, q);
    if (!(err < best_err)) break;
    best_err = err;
    best = fit;
  }
  return best;
}

// Q3_K sub-block model y = scale * v, v in -4..3 (scale of either sign: the sign decides
// whether the longer side of the level range, -4, goes to the positive or negative weights).
float symmetric_requantize(const float* x, const float* w, float scale, int8_t* v) {
  float err = 0.0f;
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  for (int i = 0; i < kSubBlock; ++i) {
    const int l = round_clamped(x[i] * inv, kQ3LevelMin, kQ3LevelMax);
    v[i] = static_cast<int8_t>(l);
    const float diff = x[i] - scale * static_cast<float>(l);
    err += w[i] * diff * diff;
  }
  return err;
}

// Least squares scale over fixed levels: a = Swxv / Swvv, with error Swxx - a Swxv (*err).
float fit_symmetric(const float* x, const float* w, const int8_t* v, float* err) {
  double swxv = 0, swvv = 0, swxx = 0;
  for (int i = 0; i < kSubBlock; ++i) {
    swxv += w[i] * x[i] * v[i];
    swvv += w[i] * v[i] * v[i];
    swxx += w[i] * x[i] * x[i];
  }
  const double a = swvv > 0.0 ? swxv / swvv : 0.0;
  *err = static_cast<float>(std::max(0.0, swxx - a * swxv));
  return static_cast<float>(a);
}

// Best scale for one Q3_K sub-block: step grids mapping the largest |x| near level -4 and near
// level +3, each refitted by least squares, then alternating refinement.
float search_symmetric(const float* x, const float* w) {
  float amax = 0.0f;  // signed element of largest magnitude
  for (int i = 0; i < kSubBlock; ++i) {
    if (std::fabs(x[i]) > std::fabs(amax)) amax = x[i];
  }
  if (amax == 0.0f) return 0.0f;
  int8_t v[kSubBlock];
  float best = amax / kQ3LevelMin;
  float best_err = symmetric_requantize(x, w, best, v);
  for (int side = 0; side < 2; ++side) {
    const float top = static_cast<float>(side == 0 ? kQ3LevelMin : kQ3LevelMax);
    for (int step = -6; step <= 10; ++step) {
      const float iscale = (top + std::copysign(0.1f * static_cast<float>(step), top)) / amax;
      for (int i = 0; i < kSubBlock; ++i) {
        v[i] = static_cast<int8_t>(round_clamped(iscale * x[i], kQ3LevelMin, kQ3LevelMax));
      }
      float err;
      const float scale = fit_symmetric(x, w, v, &err);
      if (err < best_err) {
        best_err = err;
        best = scale;
      }
    }
  }
  best_err = symmetric_requantize(x, w, best, v);
  for (int iter = 0; iter < 8; ++iter) {
    float fit_err;
    const float scale = fit_symmetric(x, w, v, &fit_err);
    const float err = symmetric_requantize(x, w, scale, v);
    if (!(err < best_err)) break;
    best_err = err;
    best = scale;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Super-block quantizers.
//
// Per sub-block, the continuous optimum (scale, min) is found first. The super-block scales then
// turn those into small integers: starting from d = max scale / 15 (Q2_K) or from the largest
// scale on level -32 or +31 (Q3_K), alternate
//   1. d -> fp16; per sub-block, try the integer scales (and mins) just below and above the
//      continuous ones and keep the pair with the least error, levels re-chosen exactly as the
//      dequantizer will reconstruct them;
//   2. levels and integer scales fixed, the error is quadratic in (d, dmin): solve for them.
// keeping the best block seen (measured on the fp16 values actually stored).

void quantize_block_q2_k(const float* x, BlockQ2_K& out) {
  float w[kQK_K];
  fill_importance(x, w);
  AffineFit fits[kSubBlocks];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < kSubBlocks; ++s) {
    fits[s] = search_affine(x + kSubBlock * s, w + kSubBlock * s);
    max_scale = std::max(max_scale, fits[s].scale);
    max_min = std::max(max_min, fits[s].min);
  }
  // All-zero bytes decode to zeros: the answer for a zero block, and what non-finite input
  // (no finite error, so no block "better" than it) leaves behind.
  std::memset(&out, 0, sizeof(out));
  if (max_scale == 0.0f && max_min == 0.0f) return;

  float d = max_scale / kQ2ScaleMax;
  float dmin = max_min / kQ2ScaleMax;
  float best_err = std::numeric_limits<float>::infinity();
  int sc[kSubBlocks], mn[kSubBlocks];
  uint8_t q[kQK_K];
  for (int iter = 0; iter < 6; ++iter) {
    const uint16_t d16 = fp32_to_fp16(d), dmin16 = fp32_to_fp16(dmin);
    const float dq = fp16_to_fp32(d16), dminq = fp16_to_fp32(dmin16);
    float total = 0.0f;
    for (int s = 0; s < kSubBlocks; ++s) {
      const float* xs = x + kSubBlock * s;
      const float* ws = w + kSubBlock * s;
      const float sc_f = dq > 0.0f ? fits[s].scale / dq : 0.0f;
      const float mn_f = dminq > 0.0f ? fits[s].min / dminq : 0.0f;
      const int sc_lo = floor_clamped(sc_f, 0, kQ2ScaleMax);
      const int mn_lo = floor_clamped(mn_f, 0, kQ2ScaleMax);
      float sub_best = std::numeric_limits<float>::infinity();
      for (int a = sc_lo; a <= std::min(sc_lo + 1, kQ2ScaleMax); ++a) {
        for (int m = mn_lo; m <= std::min(mn_lo + 1, kQ2ScaleMax); ++m) {
          uint8_t qs[kSubBlock];
          const AffineFit fit{dq * static_cast<float>(a), dminq * static_cast<float>(m)};
          const float err = affine_requantize(xs, ws, fit, qs);
          if (err < sub_best || (a == sc_lo && m == mn_lo)) {  // first always (NaN input)
            sub_best = err;
            sc[s] = a;
            mn[s] = m;
            std::memcpy(q + kSubBlock * s, qs, kSubBlock);
          }
        }
      }
      total += sub_best;
    }
    if (total < best_err) {
      best_err = total;
      std::memset(&out, 0, sizeof(out));
      out.d = d16;
      out.dmin = dmin16;
      for (int s = 0; s < kSubBlocks; ++s) {
        out.scales[s] = static_cast<uint8_t>(sc[s] | (mn[s] << 4));
        for (int l = 0; l < kSubBlock; ++l) {
          const Slot slot = slot_of(s, l);
          out.qs[slot.byte] |= static_cast<uint8_t>(q[kSubBlock * s + l] << slot.shift);
        }
      }
    }
    // x ~ d * (sc_s q) - dmin * mn_s: least squares in (d, dmin) with both >= 0.
    double a11 = 0, a12 = 0, a22 = 0, b1 = 0, b2 = 0;
    for (int s = 0; s < kSubBlocks; ++s) {
      for (int l = 0; l < kSubBlock; ++l) {
        const int i = kSubBlock * s + l;
        const double u = sc[s] * q[i], v = -mn[s];
        a11 += w[i] * u * u;
        a12 += w[i] * u * v;
        a22 += w[i] * v * v;
        b1 += w[i] * x[i] * u;
        b2 += w[i] * x[i] * v;
      }
    }
    const double det = a11 * a22 - a12 * a12;
    double nd = 0.0, ndmin = 0.0;
    if (det > 0.0) {
      nd = (a22 * b1 - a12 * b2) / det;
      ndmin = (a11 * b2 - a12 * b1) / det;
    }
    if (det <= 0.0 || ndmin < 0.0) {
      // Optimum on an edge: keep d alone, or (scales all zero) dmin alone.
      ndmin = 0.0;
      nd = a11 > 0.0 ? std::max(0.0, b1 / a11) : 0.0;
      if (nd == 0.0 && a22 > 0.0) ndmin = std::max(0.0, b2 / a22);
    } else if (nd < 0.0) {
      nd = 0.0;
      ndmin = a22 > 0.0 ? std::max(0.0, b2 / a22) : 0.0;
    }
    if (static_cast<float>(nd) == d && static_cast<float>(ndmin) == dmin) break;
    d = static_cast<float>(nd);
    dmin = static_cast<float>(ndmin);
  }
}

void quantize_block_q3_k(const float* x, BlockQ3_K& out) {
  float w[kQK_K];
  fill_importance(x, w);
  float fits[kSubBlocks];
  float amax = 0.0f;  // signed sub-block scale of largest magnitude
  for (int s = 0; s < kSubBlocks; ++s) {
    fits[s] = search_symmetric(x + kSubBlock * s, w + kSubBlock * s);
    if (std::fabs(fits[s]) > std::fabs(amax)) amax = fits[s];
  }
  std::memset(&out, 0, sizeof(out));  // zero block / non-finite input, as for Q2_K
  if (amax == 0.0f) return;

  float best_err = std::numeric_limits<float>::infinity();
  int sc[kSubBlocks];
  int8_t v[kQK_K];
  for (int start = 0; start < 2; ++start) {
    float d = amax / static_cast<float>(start == 0 ? kQ3ScaleMin : kQ3ScaleMax);
    for (int iter = 0; iter < 6; ++iter) {
      const uint16_t d16 = fp32_to_fp16(d);
      const float dq = fp16_to_fp32(d16);
      float total = 0.0f;
      for (int s = 0; s < kSubBlocks; ++s) {
        const float* xs = x + kSubBlock * s;
        const float* ws = w + kSubBlock * s;
        const float sc_f = dq != 0.0f ? fits[s] / dq : 0.0f;
        const int sc_lo = floor_clamped(sc_f, kQ3ScaleMin, kQ3ScaleMax);
        float sub_best = std::numeric_limits<float>::infinity();
        for (int a = sc_lo; a <= std::min(sc_lo + 1, kQ3ScaleMax); ++a) {
          int8_t vs[kSubBlock];
          const float err = symmetric_requantize(xs, ws, dq * static_cast<float>(a), vs);
          if (err < sub_best || a == sc_lo) {  // first always (NaN input)
            sub_best = err;
            sc[s] = a;
            std::memcpy(v + kSubBlock * s, vs, kSubBlock);
          }
        }
        total += sub_best;
      }
      if (total < best_err) {
        best_err = total;
        std::memset(&out, 0, sizeof(out));
        out.d = d16;
        pack_q3_k_scales(sc, out.scales);
        for (int s = 0; s < kSubBlocks; ++s) {
          for (int l = 0; l < kSubBlock; ++l) {
            const Slot slot = slot_of(s, l);
            const int u = v[kSubBlock * s + l] - kQ3LevelMin;  // 0..7
            out.qs[slot.byte] |= static_cast<uint8_t>((u & 3) << slot.shift);
            out.hmask[slot.byte % 32] |= static_cast<uint8_t>((u >> 2) << slot.hbit);
          }
        }
      }
      // x ~ d * (sc_s v): least squares in d.
      double num = 0, den = 0;
      for (int i = 0; i < kQK_K; ++i) {
        const double u = sc[i / kSubBlock] * v[i];
        num += w[i] * x[i] * u;
        den += w[i] * u * u;
      }
      const float nd = den > 0.0 ? static_cast<float>(num / den) : 0.0f;
      if (nd == d) break;
      d = nd;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Dequantization, following FORMATS.md's walk literally.

void dequantize_row_q2_k(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ2_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ2_K& x = blocks[b];
    const float d = fp16_to_fp32(x.d);
    const float dmin = fp16_to_fp32(x.dmin);
    float* y = dst + b * kQK_K;
    int sub = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = x.qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * static_cast<float>(x.scales[sub] & 15);
          const float ml = dmin * static_cast<float>(x.scales[sub] >> 4);
          for (int l = 0; l < kSubBlock; ++l) {
            *y++ = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
          }
        }
      }
    }
  }
}

void dequantize_row_q3_k(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ3_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ3_K& x = blocks[b];
    const float d = fp16_to_fp32(x.d);
    float* y = dst + b * kQK_K;
    int sub = 0;
    int hbit = 0;  // shift step over both halves
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = x.qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2, ++hbit) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * static_cast<float>(q3_k_scale(x.scales, sub));
          for (int l = 0; l < kSubBlock; ++l) {
            const int low = (q[16 * part + l] >> shift) & 3;
            const int high_set = (x.hmask[16 * part + l] >> hbit) & 1;
            *y++ = dl * static_cast<float>(low - (high_set ? 0 : 4));
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Weight quantizers (one super-block at a time; deterministic).

void quantize_row_q2_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ2_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b) quantize_block_q2_k(src + b * kQK_K, blocks[b]);
}

void quantize_row_q3_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ3_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b) quantize_block_q3_k(src + b * kQK_K, blocks[b]);
}

// ---------------------------------------------------------------------------------------------
// Dot products with Q8_K activations (a_i = d_a * q8_i, bsums_s = sum of q8 over sub-block s).
//
// Q2_K: sum_i w_i a_i = d_a d sum_s sc_s sum_l q_l q8_l  -  d_a dmin sum_s mn_s bsums_s
// Q3_K: sum_i w_i a_i = d_a d sum_s sc_s sum_l v_l q8_l
// The integer sums are exact in int32 (|Q2_K isum| <= 256*3*127*15, |Q3_K| <= 256*4*128*32).
// Per super-block, the float scales d_a*d and d_a*dmin are rounded products of floats; times
// the integer sums they are exact in double (24 + 22 bits), so each super-block's term is
// rounded once (the subtraction) and the terms are summed in double. The AVX2 kernels do the
// same operations and therefore return the same float for every n.

void vec_dot_q2_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  double sum = 0.0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t isum = 0;  // sum_s sc_s * sum_l q_l * q8_l
    int32_t msum = 0;  // sum_s mn_s * bsums_s
    for (int sub = 0; sub < kSubBlocks; ++sub) {
      int32_t dot = 0;
      for (int l = 0; l < kSubBlock; ++l) {
        const Slot slot = slot_of(sub, l);
        const int q = (x[b].qs[slot.byte] >> slot.shift) & 3;
        dot += q * y[b].qs[kSubBlock * sub + l];
      }
      isum += (x[b].scales[sub] & 15) * dot;
      msum += (x[b].scales[sub] >> 4) * y[b].bsums[sub];
    }
    const float dall = y[b].d * fp16_to_fp32(x[b].d);
    const float dmin = y[b].d * fp16_to_fp32(x[b].dmin);
    sum += static_cast<double>(dall) * isum - static_cast<double>(dmin) * msum;
  }
  *s = static_cast<float>(sum);
}

void vec_dot_q3_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  double sum = 0.0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t isum = 0;  // sum_s sc_s * sum_l v_l * q8_l
    for (int sub = 0; sub < kSubBlocks; ++sub) {
      int32_t dot = 0;
      for (int l = 0; l < kSubBlock; ++l) {
        const Slot slot = slot_of(sub, l);
        const int low = (x[b].qs[slot.byte] >> slot.shift) & 3;
        const int high_set = (x[b].hmask[slot.byte % 32] >> slot.hbit) & 1;
        dot += (low - (high_set ? 0 : 4)) * y[b].qs[kSubBlock * sub + l];
      }
      isum += q3_k_scale(x[b].scales, sub) * dot;
    }
    const float dall = y[b].d * fp16_to_fp32(x[b].d);
    sum += static_cast<double>(dall) * isum;
  }
  *s = static_cast<float>(sum);
}

}  // namespace quire::engine
