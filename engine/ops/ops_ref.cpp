// Reference ops: plain loops, the oracle the AVX2 versions are tested against.
//
// The arithmetic follows ggml's CPU ops (llama.cpp build 4748) step by step, because the engine
// must agree with llama.cpp's outputs: each op rounds where ggml rounds (a norm is computed, then
// multiplied by the weight, then the bias added: three roundings, never fused), and reductions
// accumulate in double like ggml's ggml_float sums:
//   - rmsnorm sums the f32 squares x*x in double;
//   - layernorm sums x, then (x - mean)^2 (squared in f32), in double;
//   - softmax sums the f32 exponentials in double.
// Double matters for long rows: a float running sum of 4096+ positive terms loses ~log2(n) bits,
// while the double sum is exact to well below float precision, so the only float roundings left
// are those of the mean and of the normalising factor (the same ones ggml makes).
#include <algorithm>
#include <array>
#include <cmath>

#include "engine/ops/ops.h"
#include "engine/ops/ops_avx2.h"
#include "engine/quant/fp16.h"

namespace quire::engine::ops {
namespace {

constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
constexpr float kSqrt1Over2 = 0.70710678118654752440084436210484f;
constexpr float kGeluCoefA = 0.044715f;

// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated as
// 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))) in f32: the grouping ggml uses, so the fp16
// table below rounds the same f32 values as llama.cpp's.
float gelu_tanh_one(float x) {
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kGeluCoefA * x * x)));
}

float silu_one(float x) {
  return x / (1.0f + std::exp(-x));
}

struct GeluTable {
  std::array<uint16_t, detail::kGeluTableEntries> values{};  // padding entries stay 0
  GeluTable() {
    for (uint32_t h = 0; h < 65536; ++h) {
      const float x = fp16_to_fp32(static_cast<uint16_t>(h));
      values[h] = fp32_to_fp16(gelu_tanh_one(x));
    }
  }
};

}  // namespace

namespace detail {

const uint16_t* gelu_ggml_table() {
  static const GeluTable table;  // C++11 guarantees one thread-safe initialisation
  return table.values.data();
}

}  // namespace detail

namespace ref {

// x, w, y: [n].  ms = mean(x^2);  y = (x * (1 / sqrt(ms + eps))) * w
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const auto mean = static_cast<float>(sum / static_cast<double>(n));
  const float inv_rms = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[i] * inv_rms;
    if (w != nullptr) y[i] = y[i] * w[i];
  }
}

// x, w, b, y: [n].  mu = mean(x);  var = mean((x - mu)^2) (biased);
// y = ((x - mu) * (1 / sqrt(var + eps))) * w + b
void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]);
  const auto mean = static_cast<float>(sum / static_cast<double>(n));
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float d = x[i] - mean;
    sum_sq += static_cast<double>(d * d);
  }
  const auto variance = static_cast<float>(sum_sq / static_cast<double>(n));
  const float inv_std = 1.0f / std::sqrt(variance + eps);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = (x[i] - mean) * inv_std;
    if (w != nullptr) y[i] = y[i] * w[i];
    if (b != nullptr) y[i] = y[i] + b[i];
  }
}

// x: [n_head][head_dim]. For pair i < n_rot/2 the angle is theta_i = pos * base^(-2i/n_rot),
// computed as ggml does: theta_0 = (float)pos, theta_{i+1} = theta_i * powf(base, -2/n_rot) in
// f32 (a running product, so theta_i carries up to ~i/2 ulp of accumulated rounding), then
// cosf/sinf. Each pair (a, b) becomes (a cos - b sin, a sin + b cos).
void rope(float* x, int64_t n_head, int64_t head_dim, int64_t n_rot, int64_t pos, float freq_base,
          RopeStyle style) {
  const float theta_scale = std::pow(freq_base, -2.0f / static_cast<float>(n_rot));
  const int64_t half = n_rot / 2;
  float theta = static_cast<float>(pos);
  for (int64_t i = 0; i < half; ++i) {
    const float cos_theta = std::cos(theta);
    const float sin_theta = std::sin(theta);
    // Element offsets of the two halves of pair i within a head.
    const int64_t i0 = style == RopeStyle::kAdjacentPairs ? 2 * i : i;
    const int64_t i1 = style == RopeStyle::kAdjacentPairs ? 2 * i + 1 : i + half;
    for (int64_t h = 0; h < n_head; ++h) {
      float* head = x + h * head_dim;
      const float a = head[i0];
      const float b = head[i1];
      // llama.cpp's CPU build fuses these (GCC contracts a * cos - b * sin into one FMA, the
      // second product rounded): the same roundings here.
      head[i0] = std::fma(a, cos_theta, -(b * sin_theta));
      head[i1] = std::fma(a, sin_theta, b * cos_theta);
    }
    theta *= theta_scale;
  }
}

// x, mask: [n].  w = x * scale + mask;  x = exp(w - max(w)) / sum(exp(w - max(w)))
void softmax(float* x, int64_t n, float scale, const float* mask) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = x[i] * scale;
    if (mask != nullptr) x[i] = x[i] + mask[i];
    max = std::max(max, x[i]);
  }
  if (max == -INFINITY) {
    // Every position masked: no distribution exists; zeros keep NaN out of the weighted sum.
    std::fill(x, x + n, 0.0f);
    return;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += static_cast<double>(x[i]);
  }
  const auto inv_sum = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * inv_sum;
}

// silu(x) = x * sigmoid(x) = x / (1 + e^-x); -0 for x below about -88.7 (e^-x overflows).
void silu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = silu_one(x[i]);
}

void gelu_erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kSqrt1Over2));
}

void gelu_tanh(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu_tanh_one(x[i]);
}

// Beyond |x| >= 10 GELU is 0 or x to f32 precision; inside, x is rounded to fp16 and its f32
// result read from the table, rounded to fp16 as well.
void gelu_ggml(const float* x, float* y, int64_t n) {
  const uint16_t* table = detail::gelu_ggml_table();
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] <= -10.0f) {
      y[i] = 0.0f;
    } else if (x[i] >= 10.0f) {
      y[i] = x[i];
    } else {
      y[i] = fp16_to_fp32(table[fp32_to_fp16(x[i])]);
    }
  }
}

// y = silu(g) * u, rounded after the silu like ggml's separate silu and mul ops.
void swiglu(const float* g, const float* u, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = silu_one(g[i]) * u[i];
}

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

void scale(const float* x, float s, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = s * x[i];
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float dot_f16(const uint16_t* a, const uint16_t* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += fp16_to_fp32(a[i]) * fp16_to_fp32(b[i]);
  return sum;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(a, x[i], y[i]);
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(a, fp16_to_fp32(x[i]), y[i]);
}

float dot_f16_ggml(const uint16_t* a, const uint16_t* b, int64_t n) {
  float acc[4][8] = {};
  const int64_t whole = n / 32 * 32;
  for (int64_t c = 0; c < whole; c += 32) {
    for (int r = 0; r < 4; ++r) {
      for (int l = 0; l < 8; ++l) {
        acc[r][l] =
            std::fma(fp16_to_fp32(a[c + 8 * r + l]), fp16_to_fp32(b[c + 8 * r + l]), acc[r][l]);
      }
    }
  }
  float x[8];
  for (int l = 0; l < 8; ++l) x[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  float t[4];
  for (int l = 0; l < 4; ++l) t[l] = x[l] + x[l + 4];
  double sum = (t[0] + t[1]) + (t[2] + t[3]);
  for (int64_t i = whole; i < n; ++i) {
    sum += static_cast<double>(fp16_to_fp32(a[i]) * fp16_to_fp32(b[i]));
  }
  return static_cast<float>(sum);
}

void to_f16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

}  // namespace ref
}  // namespace quire::engine::ops
