// Reference code for the K-quants Q4_K, Q5_K, Q6_K (weights) and Q8_K (activations): obvious
// loops over the layouts of FORMATS.md, the oracles the AVX2 kernels (engine/kernels/avx2_k.cpp)
// are tested against. Q2_K and Q3_K live in quant_k_low.cpp.
//
// A super-block holds kQK_K = 256 weights:
//   Q4_K / Q5_K: 8 sub-blocks of 32, y = (d * sc) * q - (dmin * mn), sc, mn in 0..63 (6 bits),
//                q in 0..15 (Q4_K) or 0..31 (Q5_K); d, dmin fp16.
//   Q6_K:        16 sub-blocks of 16, y = (d * sc) * (q - 32), sc int8, q in 0..63; d fp16.
//   Q8_K:        y = d * q, q int8, d f32; bsums[j] = sum of q[16j .. 16j+15].
#include "engine/quant/quant_k.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"

namespace quire::engine {
namespace {

constexpr int kSubBlocks45 = kQK_K / 32;  // Q4_K / Q5_K sub-blocks of 32 weights
constexpr int kSubBlock45 = 32;
constexpr int kSubBlocks6 = kQK_K / 16;  // Q6_K sub-blocks of 16 weights
constexpr int kSubBlock6 = 16;
constexpr int kScaleMax45 = 63;  // 6-bit scales and mins

// Round to nearest, ties to even, for |x| < 2^22 (llama.cpp's nearest_int): adding 1.5 * 2^23
// leaves a float whose unit in the last place is 1, so the FPU's round-to-nearest-even does the
// rounding and the integer sits in the low mantissa bits, offset by 2^22. No float -> int
// conversion is involved, so out-of-range or NaN inputs give garbage, never undefined behaviour.
inline int nearest_int(float x) {
  const float biased = x + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &biased, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

// Clamps t to [0, hi] (hi >= 0) by comparing bit patterns as integers: for floats >= +0 the IEEE
// order is the integer order; negative floats (-0 and negative NaNs included) are negative
// integers and become 0; +NaN lies above +inf and becomes hi. Integer selects vectorize, where
// float compares (which may trap) stay branches.
inline float clamp_nonnegative(float t, float hi) {
  int32_t bits, hi_bits;
  std::memcpy(&bits, &t, sizeof(bits));
  std::memcpy(&hi_bits, &hi, sizeof(hi_bits));
  bits = std::min(std::max(bits, 0), hi_bits);
  float clamped;
  std::memcpy(&clamped, &bits, sizeof(clamped));
  return clamped;
}

// Rounds x / step to the nearest integer level in [lo, hi], step = 1 / inv_step (any sign). The
// clamp happens before rounding, which keeps nearest_int in range whatever x and step are.
inline int quantize_level(float x, float inv_step, int lo, int hi) {
  const float t = x * inv_step - static_cast<float>(lo);
  return lo + nearest_int(clamp_nonnegative(t, static_cast<float>(hi - lo)));
}

// Squared errors are summed in kLanes interleaved partial sums: one running sum would make every
// error evaluation (the quantizers' inner loop) wait on the add latency, and independent lanes
// let the compiler vectorize. n is a multiple of kLanes.
constexpr int kLanes = 8;

inline float sum_lanes(const float* lanes) {
  float total = 0.f;
  for (int k = 0; k < kLanes; ++k) total += lanes[k];
  return total;
}

// ---- 6-bit scale / min pairs of Q4_K and Q5_K ----------------------------------------------
// Bytes s[0..11]; pair j (0..7):
//   j < 4: sc = s[j] & 63, mn = s[j+4] & 63
//   j >= 4: sc = (s[j+4] & 15) | (s[j-4] >> 6) << 4, mn = (s[j+4] >> 4) | (s[j] >> 6) << 4
void unpack_scale_min(int j, const uint8_t* s, int* sc, int* mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void pack_scale_min(const int* sc, const int* mn, uint8_t* s) {
  std::memset(s, 0, kKScaleBytes);
  for (int j = 0; j < kSubBlocks45; ++j) {
    if (j < 4) {
      s[j] = static_cast<uint8_t>(sc[j]);
      s[j + 4] = static_cast<uint8_t>(mn[j]);
    } else {
      s[j + 4] = static_cast<uint8_t>((sc[j] & 15) | ((mn[j] & 15) << 4));
      s[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
    }
  }
}

// ---- Sub-block fits --------------------------------------------------------------------------
// The quantizers minimize plain squared error (every weight counts the same): with no importance
// matrix that is what RMSE measures. Weighting large |x| more measured worse on quant-ref.gguf's
// src (RMSE / llama.cpp's RMSE for Q4_K, Q5_K, Q6_K): uniform 0.977, 0.939, 0.964; llama.cpp's
// sqrt(mean x^2) + |x| 0.982, 0.946, 0.966; x^2 + mean x^2 0.998, 0.973, 0.968.

// y = scale * q - min with scale >= 0, min >= 0 (the formats subtract an unsigned min).
struct ScaleMin {
  float scale = 0.f;
  float min = 0.f;
};

float squared_error(const float* x, const int* q, int n, ScaleMin f) {
  float err[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const float diff = f.scale * static_cast<float>(q[i + k]) - f.min - x[i + k];
      err[k] += diff * diff;
    }
  }
  return sum_lanes(err);
}

// Least squares for y = s*q + b given the levels q, subject to b <= 0 and s >= 0, returned as
// (s, -b). Normal equations: s*Sqq + b*Sq = Sqx, s*Sq + b*n = Sx.
ScaleMin refit_scale_min(const float* x, const int* q, int n) {
  float lanes_q[kLanes] = {}, lanes_qq[kLanes] = {}, lanes_x[kLanes] = {}, lanes_qx[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const float level = static_cast<float>(q[i + k]);
      lanes_q[k] += level;  // integer sums: exact in float
      lanes_qq[k] += level * level;
      lanes_x[k] += x[i + k];
      lanes_qx[k] += level * x[i + k];
    }
  }
  const double sq = sum_lanes(lanes_q), sqq = sum_lanes(lanes_qq);
  const double sx = sum_lanes(lanes_x), sqx = sum_lanes(lanes_qx);
  const double det = sqq * n - sq * sq;
  double s = 0, b = std::min(0.0, sx / n);
  if (det > 0) {
    s = (n * sqx - sq * sx) / det;
    b = (sqq * sx - sq * sqx) / det;
    if (b > 0) {
      b = 0;
      s = sqx / sqq;
    }
  } else if (sqq > 0) {  // all levels equal and nonzero: fit the mean through the origin or b
    s = (sqx - b * sq) / sqq;
  }
  if (s < 0) {
    s = 0;
    b = std::min(0.0, sx / n);
  }
  return {static_cast<float>(s), static_cast<float>(-b)};
}

void quantize_scale_min(const float* x, int n, int nmax, ScaleMin f, int* q) {
  if (f.scale <= 0.f) {
    std::fill(q, q + n, 0);
    return;
  }
  const float inv = 1.f / f.scale;
  for (int i = 0; i < n; ++i) q[i] = quantize_level(x[i] + f.min, inv, 0, nmax);
}

// Best continuous (scale, min) of one sub-block for levels 0..nmax. Candidate grids map the
// range [min(x, 0), max(x)] onto nmax + delta levels (delta < 0 clips the ends, > 0 leaves
// slack); each candidate's levels get a least-squares refit, then the best one is polished by
// alternating re-quantization and refit (Lloyd iterations; the error never increases).
ScaleMin fit_scale_min(const float* x, int n, int nmax) {
  constexpr int kSteps = 24;
  constexpr float kDeltaLo = -1.5f, kDeltaHi = 1.f;
  constexpr int kLloydIterations = 6;
  float xmin = 0.f, xmax = x[0];
  for (int i = 0; i < n; ++i) {
    xmin = std::min(xmin, x[i]);
    xmax = std::max(xmax, x[i]);
  }
  if (!(xmax > xmin)) return {0.f, -xmin};  // constant <= 0 (all zero included): y = -min

  int q[kSubBlock45];
  ScaleMin best{(xmax - xmin) / nmax, -xmin};
  quantize_scale_min(x, n, nmax, best, q);
  float best_err = squared_error(x, q, n, best);
  for (int k = 0; k <= kSteps; ++k) {
    const float levels = nmax + kDeltaLo + (kDeltaHi - kDeltaLo) * k / kSteps;
    const float iscale = levels / (xmax - xmin);
    for (int i = 0; i < n; ++i) q[i] = quantize_level(x[i] - xmin, iscale, 0, nmax);
    const ScaleMin f = refit_scale_min(x, q, n);
    const float err = squared_error(x, q, n, f);
    if (err < best_err) {
      best_err = err;
      best = f;
    }
  }
  for (int it = 0; it < kLloydIterations; ++it) {
    quantize_scale_min(x, n, nmax, best, q);
    const ScaleMin f = refit_scale_min(x, q, n);
    const float err = squared_error(x, q, n, f);
    if (!(err < best_err)) break;
    best_err = err;
    best = f;
  }
  return best;
}

// Error of one sub-block under the stored (quantized) scale and min, evaluated with exactly the
// dequantizer's float operations; writes the best level of each weight.
float error_with_scale_min(const float* x, int n, int nmax, float d1, float m1, int* q) {
  // d1 == 0 leaves one level, -m1: inv = 0 sends every weight to level 0.
  const float inv = d1 > 0.f ? 1.f / d1 : 0.f;
  float err[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      q[i + k] = quantize_level(x[i + k] + m1, inv, 0, nmax);
      const float diff = d1 * static_cast<float>(q[i + k]) - m1 - x[i + k];
      err[k] += diff * diff;
    }
  }
  return sum_lanes(err);
}

// Picks each sub-block's 6-bit (sc, mn) for fixed super-block scales d and dmin: candidates are
// a small neighbourhood of the rounded fit, judged by the actual error after re-quantizing the
// sub-block's weights against the quantized pair. Writes sc, mn and the levels q; returns the
// super-block's squared error.
float choose_scale_min_pairs(const float* x, int nmax, const ScaleMin* fits, float d, float dmin,
                             int* sc, int* mn, int* q) {
  constexpr int kRadius = 2;
  float total = 0.f;
  int qtry[kSubBlock45];
  for (int j = 0; j < kSubBlocks45; ++j) {
    const float* xj = x + kSubBlock45 * j;
    int* qj = q + kSubBlock45 * j;
    const int sc0 = d > 0.f ? quantize_level(fits[j].scale, 1.f / d, 0, kScaleMax45) : 0;
    const int mn0 = dmin > 0.f ? quantize_level(fits[j].min, 1.f / dmin, 0, kScaleMax45) : 0;
    // Defaults in case no candidate compares (NaN errors from non-finite input).
    sc[j] = 0;
    mn[j] = 0;
    std::fill(qj, qj + kSubBlock45, 0);
    float best_err = std::numeric_limits<float>::infinity();
    for (int s = std::max(0, sc0 - kRadius); s <= std::min(kScaleMax45, sc0 + kRadius); ++s) {
      for (int m = std::max(0, mn0 - kRadius); m <= std::min(kScaleMax45, mn0 + kRadius); ++m) {
        const float d1 = d * static_cast<float>(s), m1 = dmin * static_cast<float>(m);
        const float err = error_with_scale_min(xj, kSubBlock45, nmax, d1, m1, qtry);
        if (err < best_err) {
          best_err = err;
          sc[j] = s;
          mn[j] = m;
          std::copy(qtry, qtry + kSubBlock45, qj);
        }
      }
    }
    total += best_err;
  }
  return total;
}

// Q4_K / Q5_K super-block: fits (scale, min) per sub-block, starts from d = max scale / 63 and
// dmin = max min / 63, and chooses the 6-bit pairs. Then, with the integers fixed, d and dmin are
// themselves a linear least-squares fit (y_k = d * (sc_j q_k) - dmin * mn_j), after which the
// pairs are chosen again; kept while the error drops. Outputs levels q[256], packed scales, d,
// dmin.
void quantize_super_block_scale_min(const float* x, int nmax, int* q, uint8_t* scales,
                                    uint16_t* d_out, uint16_t* dmin_out) {
  constexpr int kRefits = 3;
  ScaleMin fits[kSubBlocks45];
  float max_scale = 0.f, max_min = 0.f;
  for (int j = 0; j < kSubBlocks45; ++j) {
    fits[j] = fit_scale_min(x + kSubBlock45 * j, kSubBlock45, nmax);
    max_scale = std::max(max_scale, fits[j].scale);
    max_min = std::max(max_min, fits[j].min);
  }
  uint16_t d16 = fp32_to_fp16(max_scale / kScaleMax45);
  uint16_t dmin16 = fp32_to_fp16(max_min / kScaleMax45);
  int sc[kSubBlocks45], mn[kSubBlocks45];
  float err =
      choose_scale_min_pairs(x, nmax, fits, fp16_to_fp32(d16), fp16_to_fp32(dmin16), sc, mn, q);
  for (int it = 0; it < kRefits; ++it) {
    // Normal equations of min over (D, M) of sum_k (D u_k - M v_k - x_k)^2, u = sc*q, v = mn.
    double suu = 0, suv = 0, svv = 0, sux = 0, svx = 0;
    for (int k = 0; k < kQK_K; ++k) {
      const double u = sc[k / kSubBlock45] * q[k], v = mn[k / kSubBlock45];
      suu += u * u;
      suv += u * v;
      svv += v * v;
      sux += u * x[k];
      svx += v * x[k];
    }
    const double det = suu * svv - suv * suv;
    if (!(det > 0)) break;
    const double dd = (sux * svv - svx * suv) / det;
    const double dm = (sux * suv - svx * suu) / det;
    if (!(dd > 0) || !(dm >= 0)) break;
    const uint16_t d16_try = fp32_to_fp16(static_cast<float>(dd));
    const uint16_t dmin16_try = fp32_to_fp16(static_cast<float>(dm));
    if (d16_try == d16 && dmin16_try == dmin16) break;
    int sc_try[kSubBlocks45], mn_try[kSubBlocks45], q_try[kQK_K];
    const float err_try = choose_scale_min_pairs(x, nmax, fits, fp16_to_fp32(d16_try),
                                                 fp16_to_fp32(dmin16_try), sc_try, mn_try, q_try);
    if (!(err_try < err)) break;
    err = err_try;
    d16 = d16_try;
    dmin16 = dmin16_try;
    std::copy(sc_try, sc_try + kSubBlocks45, sc);
    std::copy(mn_try, mn_try + kSubBlocks45, mn);
    std::copy(q_try, q_try + kQK_K, q);
  }
  pack_scale_min(sc, mn, scales);
  *d_out = d16;
  *dmin_out = dmin16;
}

// ---- Q6_K sub-block fits -------------------------------------------------------------------
constexpr int kQ6Lo = -32, kQ6Hi = 31;

float squared_error_signed(const float* x, const int* q, int n, float s) {
  float err[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const float diff = s * static_cast<float>(q[i + k]) - x[i + k];
      err[k] += diff * diff;
    }
  }
  return sum_lanes(err);
}

// Least squares s for y = s*q: s = Sqx / Sqq.
float refit_scale(const float* x, const int* q, int n) {
  float lanes_qq[kLanes] = {}, lanes_qx[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const float level = static_cast<float>(q[i + k]);
      lanes_qq[k] += level * level;
      lanes_qx[k] += level * x[i + k];
    }
  }
  const float sqq = sum_lanes(lanes_qq), sqx = sum_lanes(lanes_qx);
  return sqq > 0.f ? sqx / sqq : 0.f;
}

void quantize_signed(const float* x, int n, float s, int* q) {
  if (s == 0.f) {
    std::fill(q, q + n, 0);
    return;
  }
  const float inv = 1.f / s;
  for (int i = 0; i < n; ++i) q[i] = quantize_level(x[i], inv, kQ6Lo, kQ6Hi);
}

// Best signed scales of one 16-weight sub-block for levels -32..31, one per orientation: the
// levels are asymmetric, so mapping the largest |x| to the negative end (-32) or to the positive
// end (31) are different fits. out[0]: largest |x| at negative levels, out[1]: at positive.
void fit_scale_signed(const float* x, int n, float out[2]) {
  constexpr int kSteps = 8;
  constexpr float kDeltaLo = -2.f, kDeltaHi = 1.f;
  constexpr int kLloydIterations = 6;
  float amax = 0.f, xm = 0.f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      xm = x[i];
    }
  }
  out[0] = out[1] = 0.f;
  if (amax == 0.f) return;
  int q[kSubBlock6];
  for (int orientation = 0; orientation < 2; ++orientation) {
    const float end = orientation == 0 ? -32.f : 31.f;  // level the largest |x| aims at
    float best = xm / end;
    quantize_signed(x, n, best, q);
    float best_err = squared_error_signed(x, q, n, best);
    for (int k = 0; k <= kSteps; ++k) {
      const float reach = std::fabs(end) + kDeltaLo + (kDeltaHi - kDeltaLo) * k / kSteps;
      const float s = xm / std::copysign(reach, end);
      quantize_signed(x, n, s, q);
      const float f = refit_scale(x, q, n);
      const float err = squared_error_signed(x, q, n, f);
      if (err < best_err) {
        best_err = err;
        best = f;
      }
    }
    for (int it = 0; it < kLloydIterations; ++it) {
      quantize_signed(x, n, best, q);
      const float f = refit_scale(x, q, n);
      const float err = squared_error_signed(x, q, n, f);
      if (!(err < best_err)) break;
      best_err = err;
      best = f;
    }
    out[orientation] = best;
  }
}

float error_with_scale_signed(const float* x, int n, float d1, int* q) {
  // d1 == 0 leaves one level, 0: inv = 0 sends every weight there.
  const float inv = d1 != 0.f ? 1.f / d1 : 0.f;
  float err[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      q[i + k] = quantize_level(x[i + k], inv, kQ6Lo, kQ6Hi);
      const float diff = d1 * static_cast<float>(q[i + k]) - x[i + k];
      err[k] += diff * diff;
    }
  }
  return sum_lanes(err);
}

// Total error of a Q6_K super-block for one super-block scale d: each sub-block takes the best
// int8 scale from neighbourhoods of its two rounded fits. Writes sc[16] and levels q[256].
float quantize_q6_k_with_d(const float* x, const float (*fits)[2], float d, int* sc, int* q) {
  constexpr int kRadius = 2;
  float total = 0.f;
  int qtry[kSubBlock6];
  for (int j = 0; j < kSubBlocks6; ++j) {
    const float* xj = x + kSubBlock6 * j;
    int* qj = q + kSubBlock6 * j;
    float best_err = std::numeric_limits<float>::infinity();
    sc[j] = 0;
    std::fill(qj, qj + kSubBlock6, 0);
    for (int orientation = 0; orientation < 2; ++orientation) {
      const int c = d != 0.f ? quantize_level(fits[j][orientation], 1.f / d, -128, 127) : 0;
      for (int s = std::max(-128, c - kRadius); s <= std::min(127, c + kRadius); ++s) {
        const float err = error_with_scale_signed(xj, kSubBlock6, d * static_cast<float>(s), qtry);
        if (err < best_err) {
          best_err = err;
          sc[j] = s;
          std::copy(qtry, qtry + kSubBlock6, qj);
        }
      }
    }
    total += best_err;
  }
  return total;
}

}  // namespace

// ---- Dequantization --------------------------------------------------------------------------

void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ4_K& b = blocks[i];
    const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
    float* y = dst + i * kQK_K;
    // Group g of 64 weights: low nibbles of qs[32g..] are sub-block 2g, high nibbles 2g+1.
    // Float order as llama.cpp: d1 = d*sc and m1 = dmin*mn first, then d1*q - m1. Here d*sc,
    // dmin*mn and d1*q are exact (at most 11 + 6 + 5 significant bits); only the subtraction
    // rounds.
    for (int g = 0; g < 4; ++g) {
      int sc1, mn1, sc2, mn2;
      unpack_scale_min(2 * g, b.scales, &sc1, &mn1);
      unpack_scale_min(2 * g + 1, b.scales, &sc2, &mn2);
      const float d1 = d * sc1, m1 = dmin * mn1;
      const float d2 = d * sc2, m2 = dmin * mn2;
      const uint8_t* q = b.qs + 32 * g;
      for (int l = 0; l < 32; ++l) y[64 * g + l] = d1 * (q[l] & 15) - m1;
      for (int l = 0; l < 32; ++l) y[64 * g + 32 + l] = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ5_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ5_K& b = blocks[i];
    const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
    float* y = dst + i * kQK_K;
    // As Q4_K; bit 2g of qh[l] is the fifth bit of weight 64g + l, bit 2g+1 of 64g + 32 + l.
    for (int g = 0; g < 4; ++g) {
      int sc1, mn1, sc2, mn2;
      unpack_scale_min(2 * g, b.scales, &sc1, &mn1);
      unpack_scale_min(2 * g + 1, b.scales, &sc2, &mn2);
      const float d1 = d * sc1, m1 = dmin * mn1;
      const float d2 = d * sc2, m2 = dmin * mn2;
      const uint8_t* q = b.qs + 32 * g;
      for (int l = 0; l < 32; ++l) {
        const int lo = (q[l] & 15) + ((b.qh[l] >> (2 * g)) & 1) * 16;
        y[64 * g + l] = d1 * lo - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int hi = (q[l] >> 4) + ((b.qh[l] >> (2 * g + 1)) & 1) * 16;
        y[64 * g + 32 + l] = d2 * hi - m2;
      }
    }
  }
}

void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ6_K& b = blocks[i];
    const float d = fp16_to_fp32(b.d);
    float* y = dst + i * kQK_K;
    // Half h of 128 weights: ql[64h + l] holds the low nibbles of weights l (low) and 64 + l
    // (high), ql[64h + 32 + l] those of 32 + l and 96 + l; qh[32h + l] their top two bits at
    // shifts 0, 2, 4, 6. Weight k of the super-block uses scale k / 16. The product is
    // (d * sc) * (q - 32) in that order: it can round (11 + 8 + 6 significant bits), so the
    // order matters for bit-exactness.
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b.ql + 64 * h;
      const uint8_t* qh = b.qh + 32 * h;
      const int8_t* sc = b.scales + 8 * h;
      float* yh = y + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        yh[l] = d * sc[is + 0] * q1;
        yh[l + 32] = d * sc[is + 2] * q2;
        yh[l + 64] = d * sc[is + 4] * q3;
        yh[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void dequantize_row_q8_k(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    for (int l = 0; l < kQK_K; ++l) dst[i * kQK_K + l] = blocks[i].d * blocks[i].qs[l];
  }
}

// ---- Weight quantizers -----------------------------------------------------------------------

void quantize_row_q4_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ4_K*>(dst);
  int q[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    BlockQ4_K& b = blocks[i];
    quantize_super_block_scale_min(src + i * kQK_K, 15, q, b.scales, &b.d, &b.dmin);
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) {
        b.qs[32 * g + l] = static_cast<uint8_t>(q[64 * g + l] | (q[64 * g + 32 + l] << 4));
      }
    }
  }
}

void quantize_row_q5_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ5_K*>(dst);
  int q[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    BlockQ5_K& b = blocks[i];
    quantize_super_block_scale_min(src + i * kQK_K, 31, q, b.scales, &b.d, &b.dmin);
    std::memset(b.qh, 0, sizeof(b.qh));
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) {
        const int lo = q[64 * g + l], hi = q[64 * g + 32 + l];
        b.qs[32 * g + l] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
        b.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * g)) | ((hi >> 4) << (2 * g + 1)));
      }
    }
  }
}

void quantize_row_q6_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    BlockQ6_K& b = blocks[i];
    float fits[kSubBlocks6][2];
    float s_max = 0.f;  // the fitted scale of largest magnitude, signed
    for (int j = 0; j < kSubBlocks6; ++j) {
      fit_scale_signed(x + kSubBlock6 * j, kSubBlock6, fits[j]);
      for (float s : fits[j]) {
        if (std::fabs(s) > std::fabs(s_max)) s_max = s;
      }
    }
    // Two orientations of the int8 scale range: the largest fit at -128 (one step finer) or at
    // +127; keep whichever gives the smaller total error. Then, with the integers fixed, d is a
    // least-squares fit (y_k = d * sc_j q_k) and the scales are chosen again while that helps.
    int sc[kSubBlocks6], q[kQK_K];
    uint16_t d16 = 0;
    std::fill(sc, sc + kSubBlocks6, 0);
    std::fill(q, q + kQK_K, 0);
    if (s_max != 0.f) {
      constexpr int kRefits = 3;
      int sc_try[kSubBlocks6], q_try[kQK_K];
      float best_err = std::numeric_limits<float>::infinity();
      auto try_d = [&](uint16_t d_try) {
        const float err = quantize_q6_k_with_d(x, fits, fp16_to_fp32(d_try), sc_try, q_try);
        if (!(err < best_err)) return false;
        best_err = err;
        d16 = d_try;
        std::copy(sc_try, sc_try + kSubBlocks6, sc);
        std::copy(q_try, q_try + kQK_K, q);
        return true;
      };
      for (float end : {-128.f, 127.f}) try_d(fp32_to_fp16(s_max / end));
      for (int it = 0; it < kRefits; ++it) {
        double suu = 0, sux = 0;
        for (int k = 0; k < kQK_K; ++k) {
          const double u = sc[k / kSubBlock6] * q[k];
          suu += u * u;
          sux += u * x[k];
        }
        if (!(suu > 0)) break;
        const uint16_t d_try = fp32_to_fp16(static_cast<float>(sux / suu));
        if (d_try == d16 || !try_d(d_try)) break;
      }
    }
    b.d = d16;
    for (int j = 0; j < kSubBlocks6; ++j) b.scales[j] = static_cast<int8_t>(sc[j]);
    for (int h = 0; h < 2; ++h) {
      const int* qh = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        // Stored levels are q + 32 in 0..63.
        const int q1 = qh[l] + 32, q2 = qh[l + 32] + 32, q3 = qh[l + 64] + 32, q4 = qh[l + 96] + 32;
        b.ql[64 * h + l] = static_cast<uint8_t>((q1 & 15) | ((q3 & 15) << 4));
        b.ql[64 * h + l + 32] = static_cast<uint8_t>((q2 & 15) | ((q4 & 15) << 4));
        b.qh[32 * h + l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                                ((q4 >> 4) << 6));
      }
    }
  }
}

// ---- Activation quantizer --------------------------------------------------------------------

void quantize_row_q8_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    BlockQ8_K& b = blocks[i];
    // max: the first element of largest |x|, with its sign.
    float amax = 0.f, max = 0.f;
    for (int l = 0; l < kQK_K; ++l) {
      const float ax = std::fabs(x[l]);
      if (ax > amax) {
        amax = ax;
        max = x[l];
      }
    }
    if (amax == 0.f) {
      b.d = 0.f;
      std::memset(b.qs, 0, sizeof(b.qs));
      std::memset(b.bsums, 0, sizeof(b.bsums));
      continue;
    }
    // The max element maps to -127 exactly; |iscale * x| <= 127 up to rounding, hence the clamp.
    const float iscale = -127.f / max;
    for (int l = 0; l < kQK_K; ++l) {
      b.qs[l] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[l])));
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += b.qs[16 * j + l];
      b.bsums[j] = static_cast<int16_t>(sum);
    }
    b.d = 1.f / iscale;
  }
}

// ---- Dot products with Q8_K activations ----------------------------------------------------
// Per super-block the integer sums are exact (int32); the float scale d_w * d_a is applied once
// per super-block, and the per-block results accumulate in double. The AVX2 kernels form the
// same per-block float with the same operations (hence bit-identical for one super-block).

void vec_dot_q4_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  const auto* wb = static_cast<const BlockQ4_K*>(w);
  const auto* ab = static_cast<const BlockQ8_K*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    // y_k = d*sc_j*q_k - dmin*mn_j over sub-block j, a_k = da*a8_k:
    //   sum_k y_k a_k = d*da * sum_j sc_j sum_k q_k a8_k  -  dmin*da * sum_j mn_j sum_k a8_k
    // and sum_k a8_k over sub-block j is bsums[2j] + bsums[2j+1].
    int32_t sumi = 0, summ = 0;
    for (int j = 0; j < kSubBlocks45; ++j) {
      int sc, mn;
      unpack_scale_min(j, wb[i].scales, &sc, &mn);
      const uint8_t* q = wb[i].qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      int32_t dot = 0;
      for (int l = 0; l < 32; ++l) dot += ((q[l] >> shift) & 15) * ab[i].qs[32 * j + l];
      sumi += sc * dot;
      summ += mn * (ab[i].bsums[2 * j] + ab[i].bsums[2 * j + 1]);
    }
    const float dd = fp16_to_fp32(wb[i].d) * ab[i].d;
    const float dm = fp16_to_fp32(wb[i].dmin) * ab[i].d;
    sum += std::fma(-dm, static_cast<float>(summ), dd * static_cast<float>(sumi));
  }
  *s = static_cast<float>(sum);
}

void vec_dot_q5_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  const auto* wb = static_cast<const BlockQ5_K*>(w);
  const auto* ab = static_cast<const BlockQ8_K*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    // As Q4_K with 5-bit levels: the fifth bit of sub-block j is bit j of qh[l].
    int32_t sumi = 0, summ = 0;
    for (int j = 0; j < kSubBlocks45; ++j) {
      int sc, mn;
      unpack_scale_min(j, wb[i].scales, &sc, &mn);
      const uint8_t* q = wb[i].qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      int32_t dot = 0;
      for (int l = 0; l < 32; ++l) {
        const int level = ((q[l] >> shift) & 15) | (((wb[i].qh[l] >> j) & 1) << 4);
        dot += level * ab[i].qs[32 * j + l];
      }
      sumi += sc * dot;
      summ += mn * (ab[i].bsums[2 * j] + ab[i].bsums[2 * j + 1]);
    }
    const float dd = fp16_to_fp32(wb[i].d) * ab[i].d;
    const float dm = fp16_to_fp32(wb[i].dmin) * ab[i].d;
    sum += std::fma(-dm, static_cast<float>(summ), dd * static_cast<float>(sumi));
  }
  *s = static_cast<float>(sum);
}

void vec_dot_q6_k_q8_k(int64_t n, float* s, const void* w, const void* a) {
  const auto* wb = static_cast<const BlockQ6_K*>(w);
  const auto* ab = static_cast<const BlockQ8_K*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    // y_k = d*sc_j*(q_k - 32) over sub-block j = k / 16:
    //   sum_k y_k a_k = d*da * sum_j sc_j sum_k (q_k - 32) a8_k
    const BlockQ6_K& b = wb[i];
    int level[kQK_K];
    for (int h = 0; h < 2; ++h) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = b.ql[64 * h + l], hi = b.ql[64 * h + 32 + l], top = b.qh[32 * h + l];
        level[128 * h + l] = (lo & 15) | ((top & 3) << 4);
        level[128 * h + 32 + l] = (hi & 15) | (((top >> 2) & 3) << 4);
        level[128 * h + 64 + l] = (lo >> 4) | (((top >> 4) & 3) << 4);
        level[128 * h + 96 + l] = (hi >> 4) | (((top >> 6) & 3) << 4);
      }
    }
    int32_t sumi = 0;
    for (int j = 0; j < kSubBlocks6; ++j) {
      int32_t dot = 0;
      for (int l = 0; l < 16; ++l) dot += (level[16 * j + l] - 32) * ab[i].qs[16 * j + l];
      sumi += b.scales[j] * dot;
    }
    const float dd = fp16_to_fp32(b.d) * ab[i].d;
    sum += dd * static_cast<float>(sumi);
  }
  *s = static_cast<float>(sum);
}

}  // namespace quire::engine
