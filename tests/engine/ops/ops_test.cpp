// Tests of engine/ops: known values of every reference op, AVX2 versions against the reference on
// seeded random rows of odd lengths, the public entry points' dispatch, and get_rows over every
// weight type.
//
// Tolerances (relative to the reference value, |got - want| <= tol * max(|want|, floor)):
//   add, mul, scale, gelu_ggml, rmsnorm: bit-identical (same single rounding per element / same
//     table / the same sequential double sum);
//   layernorm: 1e-6. Both versions subtract/square in f32 and sum in double; only the order of
//     the double additions differs, which can move the f32 mean by at most an ulp in rare cases,
//     i.e. ~1.2e-7 relative on the output (floor 1, as the bias can cancel);
//   softmax, silu, swiglu: 2e-6. The AVX2 versions use llama.cpp's e^x (ggml_v_expf's algorithm,
//     <= ~2 ulp) where the reference has std::exp; the normalising sum / the division add an ulp
//     or two: a few 1e-7, with margin. They are also checked bit for bit against a scalar model
//     of llama.cpp's arithmetic (LlamaCpp* tests).
#include "engine/ops/ops.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "engine/core/cpu_features.h"
#include "engine/ops/ops_avx2.h"
#include "engine/quant/fp16.h"
#include "engine/quant/ggml_type.h"
#include "engine/quant/quant_traits.h"

namespace quire::engine::ops {
namespace {

constexpr int64_t kLengths[] = {1, 7, 8, 9, 31, 64, 1000, 4097};
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> random_normal(int64_t n, uint32_t seed, float mean = 0.0f, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// The hardware check ignores QUIRE_CPU=generic: these tests call the AVX2 functions directly.
bool have_avx2() {
  return detect_cpu_features().has_avx2_kernels();
}

#define REQUIRE_AVX2() \
  if (!have_avx2()) GTEST_SKIP() << "CPU without AVX2+FMA+F16C: AVX2 ops not testable"

// Largest |got - want| / max(|want|, floor); NaN where one is NaN and the other not.
double max_rel_error(const std::vector<float>& got, const std::vector<float>& want, double floor) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0.0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i] == want[i]) continue;  // also equal infinities
    if (std::isnan(got[i]) != std::isnan(want[i])) return std::nan("");
    if (std::isnan(got[i])) continue;
    const double err = std::abs(static_cast<double>(got[i]) - want[i]) /
                       std::max(std::abs(static_cast<double>(want[i])), floor);
    worst = std::max(worst, err);
  }
  return worst;
}

void expect_bits_equal(const std::vector<float>& got, const std::vector<float>& want,
                       const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
        << what << " at " << i << " of " << got.size() << ": " << got[i] << " vs " << want[i];
  }
}

// ---------------------------------------------------------------------------------------------
// exp_f32

TEST(OpsAvx2Test, ExpF32WithinAnUlpOfExp) {
  REQUIRE_AVX2();
  // Every 97th float of [-104, 89] (all exponents, scattered mantissas): ~2.3e7 values.
  std::vector<float> x;
  for (uint32_t bits = 0; bits <= std::bit_cast<uint32_t>(89.0f); bits += 97) {
    x.push_back(std::bit_cast<float>(bits));
  }
  for (uint32_t bits = 0x80000000u; bits <= std::bit_cast<uint32_t>(-104.0f); bits += 97) {
    x.push_back(std::bit_cast<float>(bits));
  }
  std::vector<float> y(x.size());
  avx2::exp_f32(x.data(), y.data(), static_cast<int64_t>(x.size()));

  double max_rel_exact = 0.0;  // vs e^x in double: the true error
  double max_rel_std = 0.0;    // vs std::exp(float)
  double max_abs_subnormal = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double exact = std::exp(static_cast<double>(x[i]));
    if (exact > std::numeric_limits<float>::max()) {
      ASSERT_EQ(y[i], kInf) << "x = " << x[i];
    } else if (exact >= std::numeric_limits<float>::min()) {
      max_rel_exact = std::max(max_rel_exact, std::abs(y[i] - exact) / exact);
      const double std_exp = std::exp(x[i]);
      max_rel_std = std::max(max_rel_std, std::abs(y[i] - std_exp) / std_exp);
    } else {
      max_abs_subnormal = std::max(max_abs_subnormal, std::abs(y[i] - exact));
    }
  }
  std::printf(
      "[ measured ] exp_f32 max rel error: %.3g vs exact, %.3g vs std::exp; "
      "subnormal max abs %.3g (2^-149 = %.3g)\n",
      max_rel_exact, max_rel_std, max_abs_subnormal, std::ldexp(1.0, -149));
  // Measured 8.6e-8 and 1.19e-7. One ulp is at most 2^-23 = 1.19e-7 relative: the bounds say
  // "within an ulp of e^x" and "within 1.5 ulp of std::exp (itself within half an ulp)".
  EXPECT_LE(max_rel_exact, 1.2e-7);
  EXPECT_LE(max_rel_std, 1.8e-7);
  // Subnormal results are rounded once: within one subnormal step (2^-149) of e^x.
  EXPECT_LE(max_abs_subnormal, std::ldexp(1.0, -149));
}

TEST(OpsAvx2Test, ExpF32SpecialValues) {
  REQUIRE_AVX2();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -kInf, kInf, nan, 88.72f, 88.73f, -103.98f, -200.0f};
  std::vector<float> y(x.size());
  avx2::exp_f32(x.data(), y.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_NEAR(y[2], 2.718281828f, 3e-7f);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(y[4], kInf);
  EXPECT_TRUE(std::isnan(y[5]));
  EXPECT_TRUE(std::isfinite(y[6]));
  EXPECT_NEAR(y[6] / std::exp(88.72f), 1.0f, 2.4e-7f);
  EXPECT_EQ(y[7], kInf);  // e^88.73 > FLT_MAX
  EXPECT_EQ(y[8], 0.0f);  // e^-103.98 < 2^-150: rounds to zero
  EXPECT_EQ(y[9], 0.0f);
}

// ---------------------------------------------------------------------------------------------
// AVX2 vs reference on random rows

TEST(OpsAvx2Test, AddMulScaleBitIdentical) {
  REQUIRE_AVX2();
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto a = random_normal(n, 1, 0.0f, 3.0f);
    const auto b = random_normal(n, 2, 0.0f, 3.0f);
    std::vector<float> want(a.size()), got(a.size());

    ref::add(a.data(), b.data(), want.data(), n);
    avx2::add(a.data(), b.data(), got.data(), n);
    expect_bits_equal(got, want, "add");
    got = a;
    avx2::add(got.data(), b.data(), got.data(), n);  // y aliases a
    expect_bits_equal(got, want, "add in place");

    ref::mul(a.data(), b.data(), want.data(), n);
    avx2::mul(a.data(), b.data(), got.data(), n);
    expect_bits_equal(got, want, "mul");
    got = b;
    avx2::mul(a.data(), got.data(), got.data(), n);  // y aliases b
    expect_bits_equal(got, want, "mul in place");

    ref::scale(a.data(), 0.37f, want.data(), n);
    avx2::scale(a.data(), 0.37f, got.data(), n);
    expect_bits_equal(got, want, "scale");
    got = a;
    avx2::scale(got.data(), 0.37f, got.data(), n);
    expect_bits_equal(got, want, "scale in place");
  }
}

TEST(OpsAvx2Test, TailStoresStayInsideTheRow) {
  REQUIRE_AVX2();
  // Elements just past n must keep their values: the masked tail never writes them.
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto x = random_normal(n + 8, 3);
    std::vector<float> y(x.size(), 42.0f);
    avx2::silu(x.data(), y.data(), n);
    avx2::softmax(y.data(), n, 1.0f, nullptr);
    avx2::layernorm(x.data(), nullptr, nullptr, y.data(), n, 1e-5f);
    avx2::gelu_ggml(x.data(), y.data(), n);
    for (int64_t i = n; i < n + 8; ++i) EXPECT_EQ(y[static_cast<size_t>(i)], 42.0f);
  }
}

TEST(OpsAvx2Test, RmsnormBitIdenticalToReference) {
  REQUIRE_AVX2();
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto x = random_normal(n, 10, 0.3f, 2.0f);
    const auto w = random_normal(n, 11, 1.0f, 0.1f);
    std::vector<float> want(x.size()), got(x.size());
    for (const float* weight : {static_cast<const float*>(nullptr), w.data()}) {
      ref::rmsnorm(x.data(), weight, want.data(), n, 1e-5f);
      avx2::rmsnorm(x.data(), weight, got.data(), n, 1e-5f);
      expect_bits_equal(got, want, "rmsnorm");
      got = x;
      avx2::rmsnorm(got.data(), weight, got.data(), n, 1e-5f);
      expect_bits_equal(got, want, "rmsnorm in place");
    }
  }
}

TEST(OpsAvx2Test, LayernormMatchesReference) {
  REQUIRE_AVX2();
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto x = random_normal(n, 20, 5.0f, 2.0f);  // offset mean: the subtraction matters
    const auto w = random_normal(n, 21, 1.0f, 0.1f);
    const auto b = random_normal(n, 22, 0.0f, 0.5f);
    std::vector<float> want(x.size()), got(x.size());
    const float* no = nullptr;
    for (auto [weight, bias] : {std::pair{no, no}, std::pair{w.data(), no},
                                std::pair{w.data(), b.data()}, std::pair{no, b.data()}}) {
      ref::layernorm(x.data(), weight, bias, want.data(), n, 1e-5f);
      avx2::layernorm(x.data(), weight, bias, got.data(), n, 1e-5f);
      EXPECT_LE(max_rel_error(got, want, 1.0), 1e-6);
      got = x;
      avx2::layernorm(got.data(), weight, bias, got.data(), n, 1e-5f);
      EXPECT_LE(max_rel_error(got, want, 1.0), 1e-6) << "in place";
    }
  }
}

TEST(OpsAvx2Test, SoftmaxMatchesReference) {
  REQUIRE_AVX2();
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto x = random_normal(n, 30, 0.0f, 8.0f);
    // A causal-style mask: the last third of the row is -inf, the rest small additive values.
    auto mask = random_normal(n, 31, 0.0f, 0.5f);
    for (int64_t i = 2 * n / 3 + 1; i < n; ++i) mask[static_cast<size_t>(i)] = -kInf;
    for (const float* m :
         {static_cast<const float*>(nullptr), static_cast<const float*>(mask.data())}) {
      auto want = x, got = x;
      ref::softmax(want.data(), n, 0.125f, m);
      avx2::softmax(got.data(), n, 0.125f, m);
      EXPECT_LE(max_rel_error(got, want, 1e-30), 2e-6);
      if (m != nullptr) {
        for (int64_t i = 2 * n / 3 + 1; i < n; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], 0.0f);
      }
    }
  }
}

std::vector<float> activation_inputs(int64_t n, uint32_t seed) {
  auto x = random_normal(n, seed, 0.0f, 4.0f);
  // Extremes of the exp: overflow of e^-x, subnormal-free large results, exact zero.
  const float extremes[] = {-100.0f, -89.0f, -88.5f, -87.0f, -20.0f, 0.0f, 20.0f, 88.0f, 100.0f};
  for (size_t i = 0; i < std::size(extremes) && i < x.size(); ++i)
    x[i * 3 % x.size()] = extremes[i];
  return x;
}

TEST(OpsAvx2Test, SiluAndSwigluMatchReference) {
  REQUIRE_AVX2();
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto g = activation_inputs(n, 40);
    const auto u = random_normal(n, 41, 0.0f, 2.0f);
    std::vector<float> want(g.size()), got(g.size());

    ref::silu(g.data(), want.data(), n);
    avx2::silu(g.data(), got.data(), n);
    EXPECT_LE(max_rel_error(got, want, 1e-30), 2e-6);
    got = g;
    avx2::silu(got.data(), got.data(), n);
    EXPECT_LE(max_rel_error(got, want, 1e-30), 2e-6) << "silu in place";

    ref::swiglu(g.data(), u.data(), want.data(), n);
    avx2::swiglu(g.data(), u.data(), got.data(), n);
    EXPECT_LE(max_rel_error(got, want, 1e-30), 2e-6);
    got = g;
    avx2::swiglu(got.data(), u.data(), got.data(), n);
    EXPECT_LE(max_rel_error(got, want, 1e-30), 2e-6) << "swiglu y == g";
    got = u;
    avx2::swiglu(g.data(), got.data(), got.data(), n);
    EXPECT_LE(max_rel_error(got, want, 1e-30), 2e-6) << "swiglu y == u";
  }
}

// ---------------------------------------------------------------------------------------------
// llama.cpp's arithmetic (build 4748, x86 AVX2) in scalar code: ggml_v_expf, ggml_v_silu and
// ggml_vec_soft_max_f32. The AVX2 silu / swiglu / softmax must match it bit for bit.

// ggml_v_expf, lane by lane: n = round(x / ln2) via the 1.5 * 2^23 shifter, b = x - n ln2 (two
// parts), a polynomial for e^b - 1, then 2^n (1 + p), with a two-factor scaling for |n| > 126.
float llama_expf(float x) {
  const float shifter = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, shifter);
  const float n = z - shifter;
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const uint32_t e = std::bit_cast<uint32_t>(z) << 23;
  const float k = std::bit_cast<float>(e + std::bit_cast<uint32_t>(1.0f));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, 0x1.ffffecp-1f * b);
  if (!(std::fabs(n) > 126.0f)) return std::fma(j, k, k);
  const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
  const float s1 = std::bit_cast<float>(g + 0x7f000000u);
  const float s2 = std::bit_cast<float>(e - g);
  if (std::fabs(n) > 192.0f) return s1 * s1;
  return std::fma(s2, j, s2) * s1;
}

float llama_silu(float x) {
  return x / (1.0f + llama_expf(0.0f - x));
}

// ggml_soft_max on a row padded with masked entries to a multiple of 8: x * scale (+ mask), the
// max, e^(x - max) summed per group of 8 in f32 (hsum order) and the groups in double, then
// times (float)(1 / sum).
std::vector<float> llama_softmax(std::vector<float> x, float scale, const float* mask) {
  float max = -kInf;
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = x[i] * scale;
    if (mask != nullptr) x[i] = x[i] + mask[i];
    max = std::max(max, x[i]);
  }
  double sum = 0.0;
  for (size_t g = 0; g < x.size(); g += 8) {
    float e[8] = {};
    for (size_t l = 0; l < 8 && g + l < x.size(); ++l) e[l] = x[g + l] = llama_expf(x[g + l] - max);
    float t[4];
    for (int l = 0; l < 4; ++l) t[l] = e[l + 4] + e[l];
    sum += static_cast<double>((t[0] + t[2]) + (t[1] + t[3]));
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (float& v : x) v = v * inv;
  return x;
}

TEST(OpsAvx2Test, LlamaCppExpSiluAndSwiglu) {
  REQUIRE_AVX2();
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    auto g = activation_inputs(n, 60);
    // The far paths of the exponential: |x / ln2| beyond 126 and 192, and infinities.
    const float far[] = {-150.0f, -120.0f, -87.5f, 87.5f, 120.0f, 150.0f, -kInf, kInf};
    for (size_t i = 0; i < std::size(far) && i < g.size(); ++i) g[(i * 5 + 1) % g.size()] = far[i];
    const auto u = random_normal(n, 61, 0.0f, 2.0f);
    std::vector<float> want(g.size()), want_glu(g.size()), got(g.size());
    for (size_t i = 0; i < g.size(); ++i) {
      want[i] = llama_silu(g[i]);
      want_glu[i] = want[i] * u[i];
    }
    avx2::silu(g.data(), got.data(), n);
    expect_bits_equal(got, want, "silu");
    avx2::swiglu(g.data(), u.data(), got.data(), n);
    expect_bits_equal(got, want_glu, "swiglu");
  }
}

TEST(OpsAvx2Test, LlamaCppSoftmax) {
  REQUIRE_AVX2();
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto x = random_normal(n, 62, 0.0f, 8.0f);
    auto mask = random_normal(n, 63, 0.0f, 0.5f);
    for (int64_t i = n / 2 + 1; i < n; ++i) mask[static_cast<size_t>(i)] = -kInf;
    for (const float* m :
         {static_cast<const float*>(nullptr), static_cast<const float*>(mask.data())}) {
      auto got = x;
      avx2::softmax(got.data(), n, 0.17677669f, m);
      expect_bits_equal(got, llama_softmax(x, 0.17677669f, m), "softmax");
    }
  }
}

TEST(OpsAvx2Test, GeluGgmlBitIdentical) {
  REQUIRE_AVX2();
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    auto x = random_normal(n, 50, 0.0f, 6.0f);
    std::vector<float> want(x.size()), got(x.size());
    ref::gelu_ggml(x.data(), want.data(), n);
    avx2::gelu_ggml(x.data(), got.data(), n);
    expect_bits_equal(got, want, "gelu_ggml");
    avx2::gelu_ggml(x.data(), x.data(), n);
    expect_bits_equal(x, want, "gelu_ggml in place");
  }
  // Every fp16 value (the whole table, NaNs and infinities included) plus the boundaries.
  std::vector<float> x;
  for (uint32_t h = 0; h < 65536; ++h) x.push_back(fp16_to_fp32(static_cast<uint16_t>(h)));
  for (float v : {-10.0f, 10.0f, std::nextafter(-10.0f, 0.0f), std::nextafter(10.0f, 0.0f),
                  std::nextafter(-10.0f, -20.0f), std::nextafter(10.0f, 20.0f), 65520.0f, 1e30f}) {
    x.push_back(v);
  }
  std::vector<float> want(x.size()), got(x.size());
  ref::gelu_ggml(x.data(), want.data(), static_cast<int64_t>(x.size()));
  avx2::gelu_ggml(x.data(), got.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "x = " << x[i];
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
          << "x = " << x[i];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Public entry points: exactly the AVX2 version when the process uses it, else the reference.

TEST(OpsDispatchTest, PublicOpsRunTheChosenVersion) {
  const bool avx2_on = cpu_features().has_avx2_kernels();
  const int64_t n = 1000;
  const auto x = random_normal(n, 60, 0.5f, 3.0f);
  const auto w = random_normal(n, 61, 1.0f, 0.1f);
  std::vector<float> got(x.size()), want(x.size());

  auto check1 = [&](auto pub, auto r, auto a, const char* what) {
    pub(x.data(), got.data(), n);
    (avx2_on ? a : r)(x.data(), want.data(), n);
    expect_bits_equal(got, want, what);
  };
  check1(ops::silu, ref::silu, avx2::silu, "silu");
  check1(ops::gelu_ggml, ref::gelu_ggml, avx2::gelu_ggml, "gelu_ggml");
  check1(ops::gelu_tanh, ref::gelu_tanh, ref::gelu_tanh, "gelu_tanh");
  check1(ops::gelu_erf, ref::gelu_erf, ref::gelu_erf, "gelu_erf");

  auto check2 = [&](auto pub, auto r, auto a, const char* what) {
    pub(x.data(), w.data(), got.data(), n);
    (avx2_on ? a : r)(x.data(), w.data(), want.data(), n);
    expect_bits_equal(got, want, what);
  };
  check2(ops::swiglu, ref::swiglu, avx2::swiglu, "swiglu");
  check2(ops::add, ref::add, avx2::add, "add");
  check2(ops::mul, ref::mul, avx2::mul, "mul");

  ops::scale(x.data(), 3.0f, got.data(), n);
  (avx2_on ? avx2::scale : ref::scale)(x.data(), 3.0f, want.data(), n);
  expect_bits_equal(got, want, "scale");

  ops::rmsnorm(x.data(), w.data(), got.data(), n, 1e-6f);
  (avx2_on ? avx2::rmsnorm : ref::rmsnorm)(x.data(), w.data(), want.data(), n, 1e-6f);
  expect_bits_equal(got, want, "rmsnorm");

  ops::layernorm(x.data(), w.data(), x.data(), got.data(), n, 1e-12f);
  (avx2_on ? avx2::layernorm : ref::layernorm)(x.data(), w.data(), x.data(), want.data(), n,
                                               1e-12f);
  expect_bits_equal(got, want, "layernorm");

  got = x;
  want = x;
  ops::softmax(got.data(), n, 0.5f, w.data());
  (avx2_on ? avx2::softmax : ref::softmax)(want.data(), n, 0.5f, w.data());
  expect_bits_equal(got, want, "softmax");

  got = x;
  want = x;
  ops::rope(got.data(), 10, 100, 64, 17, 10000.0f, RopeStyle::kHalves);
  ref::rope(want.data(), 10, 100, 64, 17, 10000.0f, RopeStyle::kHalves);
  expect_bits_equal(got, want, "rope");
}

// ---------------------------------------------------------------------------------------------
// Known values of the reference (and of the public ops where cheap)

TEST(OpsRefTest, RmsnormOfConstantRow) {
  // x = c everywhere: mean(x^2) = c^2, y = c / sqrt(c^2 + eps) * w.
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const float c = -1.75f, eps = 1e-5f;
    const std::vector<float> x(static_cast<size_t>(n), c);
    const auto w = random_normal(n, 70, 1.0f, 0.1f);
    std::vector<float> y(x.size());
    ref::rmsnorm(x.data(), w.data(), y.data(), n, eps);
    const double expected = c / std::sqrt(static_cast<double>(c) * c + eps);
    for (size_t i = 0; i < y.size(); ++i) {
      EXPECT_NEAR(y[i], expected * w[i], 3e-7 * std::abs(expected * w[i]));
    }
    ops::rmsnorm(x.data(), nullptr, y.data(), n, eps);
    for (float v : y) EXPECT_NEAR(v, expected, 3e-7 * std::abs(expected));
  }
}

TEST(OpsRefTest, RmsnormMatchesDoublePrecision) {
  const int64_t n = 4096;
  const auto x = random_normal(n, 71, 0.0f, 3.0f);
  std::vector<float> y(x.size());
  ref::rmsnorm(x.data(), nullptr, y.data(), n, 1e-6f);
  double sum = 0.0;
  for (float v : x) sum += static_cast<double>(v) * v;
  const double inv_rms = 1.0 / std::sqrt(sum / n + 1e-6);
  // Roundings: mean, eps sum, sqrt, division, product: ~5 half-ulps.
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y[i], x[i] * inv_rms, 4e-7 * std::abs(x[i] * inv_rms));
}

TEST(OpsRefTest, LayernormKnownValues) {
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, 4.0f};  // mean 2.5, biased variance 1.25
  const std::vector<float> w = {1.0f, 2.0f, -1.0f, 0.5f};
  const std::vector<float> b = {0.0f, 1.0f, 0.0f, -1.0f};
  std::vector<float> y(4);
  ref::layernorm(x.data(), w.data(), b.data(), y.data(), 4, 1e-5f);
  const double inv_std = 1.0 / std::sqrt(1.25 + 1e-5);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(y[i], (x[i] - 2.5) * inv_std * w[i] + b[i], 1e-6) << i;
  }
  // A constant row has zero variance: the output is the bias.
  for (int64_t n : kLengths) {
    const std::vector<float> c(static_cast<size_t>(n), 3.25f);
    const auto bias = random_normal(n, 72);
    std::vector<float> out(c.size());
    ops::layernorm(c.data(), nullptr, bias.data(), out.data(), n, 1e-5f);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], bias[i]) << n;
  }
}

TEST(OpsRefTest, SoftmaxKnownValues) {
  std::vector<float> x = {0.0f, std::log(3.0f)};
  ref::softmax(x.data(), 2, 1.0f, nullptr);
  EXPECT_NEAR(x[0], 0.25f, 1e-7f);
  EXPECT_NEAR(x[1], 0.75f, 1e-7f);

  x = {1000.0f, 1000.0f, -1000.0f};  // no overflow: the maximum is subtracted first
  ops::softmax(x.data(), 3, 1.0f, nullptr);
  EXPECT_EQ(x[0], 0.5f);
  EXPECT_EQ(x[1], 0.5f);
  EXPECT_EQ(x[2], 0.0f);

  x = {1.0f, 2.0f, 7.0f};  // scale 0: uniform
  ops::softmax(x.data(), 3, 0.0f, nullptr);
  for (float v : x) EXPECT_NEAR(v, 1.0f / 3.0f, 1e-7f);

  x = {2.0f, 4.0f};  // scale then mask: w = {1, 2} + {0, -1} = {1, 1}: equal
  const std::vector<float> mask = {0.0f, -1.0f};
  ref::softmax(x.data(), 2, 0.5f, mask.data());
  EXPECT_NEAR(x[0], 0.5f, 1e-7f);
  EXPECT_NEAR(x[1], 0.5f, 1e-7f);
}

TEST(OpsRefTest, SoftmaxSumsToOne) {
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const auto x0 = random_normal(n, 80, 0.0f, 10.0f);
    auto mask = random_normal(n, 81);
    for (size_t i = 0; i < mask.size(); i += 3) mask[i] = -kInf;
    if (n > 1) mask[1] = 0.0f;  // at least one finite entry
    for (bool use_public : {false, true}) {
      auto x = x0;
      (use_public ? ops::softmax : ref::softmax)(x.data(), n, 0.7f, n > 1 ? mask.data() : nullptr);
      double sum = 0.0;
      for (float v : x) {
        ASSERT_GE(v, 0.0f);
        ASSERT_LE(v, 1.0f);
        sum += v;
      }
      // Each element within a few ulps of its exact value: the sum within 1e-6 of 1.
      EXPECT_NEAR(sum, 1.0, 1e-6);
      for (size_t i = 0; n > 1 && i < mask.size(); i += 3) EXPECT_EQ(x[i], 0.0f);
    }
  }
}

TEST(OpsRefTest, SoftmaxAllMaskedRowIsZero) {
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    const std::vector<float> mask(static_cast<size_t>(n), -kInf);
    for (int version = 0; version < 3; ++version) {
      if (version == 2 && !have_avx2()) continue;
      auto x = random_normal(n, 90);
      auto* fn = version == 0 ? ref::softmax : version == 1 ? ops::softmax : avx2::softmax;
      fn(x.data(), n, 1.0f, mask.data());
      for (float v : x) ASSERT_EQ(v, 0.0f) << "version " << version;
    }
  }
}

// Heads of 48 dims with 32 rotating, 3 heads.
constexpr int64_t kHeadDim = 48, kNRot = 32, kNHead = 3;

TEST(OpsRefTest, RopeAtPositionZeroIsIdentity) {
  for (RopeStyle style : {RopeStyle::kAdjacentPairs, RopeStyle::kHalves}) {
    const auto x = random_normal(kNHead * kHeadDim, 100);
    auto y = x;
    ops::rope(y.data(), kNHead, kHeadDim, kNRot, 0, 10000.0f, style);
    expect_bits_equal(y, x, "rope pos 0");  // cos 0 = 1, sin 0 = 0 exactly
  }
}

TEST(OpsRefTest, RopeKnownRotation) {
  // One head of 2 dims: theta_0 = pos, so (1, 0) -> (cos pos, sin pos).
  for (int64_t pos : {1, 2, 5, 100}) {
    std::vector<float> x = {1.0f, 0.0f};
    ref::rope(x.data(), 1, 2, 2, pos, 10000.0f, RopeStyle::kAdjacentPairs);
    EXPECT_FLOAT_EQ(x[0], std::cos(static_cast<float>(pos)));
    EXPECT_FLOAT_EQ(x[1], std::sin(static_cast<float>(pos)));
  }
}

// Where pair i of a head lives in each style.
std::pair<int64_t, int64_t> pair_slots(RopeStyle style, int64_t i) {
  return style == RopeStyle::kAdjacentPairs ? std::pair{2 * i, 2 * i + 1}
                                            : std::pair{i, i + kNRot / 2};
}

TEST(OpsRefTest, RopePreservesPairNormsAndLeavesTailDims) {
  for (RopeStyle style : {RopeStyle::kAdjacentPairs, RopeStyle::kHalves}) {
    for (int64_t pos : {1, 7, 513, 2047}) {
      const auto x = random_normal(kNHead * kHeadDim, 101);
      auto y = x;
      ref::rope(y.data(), kNHead, kHeadDim, kNRot, pos, 10000.0f, style);
      for (int64_t h = 0; h < kNHead; ++h) {
        const size_t base = static_cast<size_t>(h * kHeadDim);
        for (int64_t i = 0; i < kNRot / 2; ++i) {
          const auto [i0, i1] = pair_slots(style, i);
          const double before = std::hypot(x[base + i0], x[base + i1]);
          const double after = std::hypot(y[base + i0], y[base + i1]);
          // cos^2 + sin^2 = 1 up to their roundings, plus the rotation's: a few ulps.
          EXPECT_NEAR(after, before, 5e-7 * before + 1e-30) << "pos " << pos << " pair " << i;
        }
        for (int64_t d = kNRot; d < kHeadDim; ++d) EXPECT_EQ(y[base + d], x[base + d]);
      }
    }
  }
}

TEST(OpsRefTest, RopeStylesDifferByAPermutation) {
  // Moving element i + n_rot/2 next to element i turns the halves layout into the adjacent-pair
  // layout; the same angles and arithmetic apply, so the results are the same bits permuted.
  const auto halves = random_normal(kNHead * kHeadDim, 102);
  std::vector<float> adjacent(halves.size());
  for (int64_t h = 0; h < kNHead; ++h) {
    const size_t base = static_cast<size_t>(h * kHeadDim);
    for (int64_t i = 0; i < kNRot / 2; ++i) {
      adjacent[base + 2 * i] = halves[base + i];
      adjacent[base + 2 * i + 1] = halves[base + i + kNRot / 2];
    }
    for (int64_t d = kNRot; d < kHeadDim; ++d) adjacent[base + d] = halves[base + d];
  }
  auto rotated_halves = halves;
  auto rotated_adjacent = adjacent;
  ref::rope(rotated_halves.data(), kNHead, kHeadDim, kNRot, 333, 1e6f, RopeStyle::kHalves);
  ref::rope(rotated_adjacent.data(), kNHead, kHeadDim, kNRot, 333, 1e6f, RopeStyle::kAdjacentPairs);
  bool any_moved = false;
  for (int64_t h = 0; h < kNHead; ++h) {
    const size_t base = static_cast<size_t>(h * kHeadDim);
    for (int64_t i = 0; i < kNRot / 2; ++i) {
      EXPECT_EQ(rotated_adjacent[base + 2 * i], rotated_halves[base + i]);
      EXPECT_EQ(rotated_adjacent[base + 2 * i + 1], rotated_halves[base + i + kNRot / 2]);
      any_moved |= rotated_halves[base + i] != halves[base + i];
    }
    for (int64_t d = kNRot; d < kHeadDim; ++d) {
      EXPECT_EQ(rotated_adjacent[base + d], rotated_halves[base + d]);
    }
  }
  EXPECT_TRUE(any_moved);
  // The styles are not interchangeable: applied to the same data they differ.
  auto other = halves;
  ref::rope(other.data(), kNHead, kHeadDim, kNRot, 333, 1e6f, RopeStyle::kAdjacentPairs);
  EXPECT_NE(other, rotated_halves);
}

TEST(OpsRefTest, RopeMatchesDoublePrecisionAngles) {
  // theta_i = pos * base^(-2i/n_rot). The f32 running product carries ~(i + 1) half-ulps of
  // relative error in theta, i.e. an absolute angle error up to (i + 2) * 2^-24 * theta; the
  // rotated values err by that times the pair norm, plus a few ulps.
  for (RopeStyle style : {RopeStyle::kAdjacentPairs, RopeStyle::kHalves}) {
    for (int64_t pos : {3, 100, 2047}) {
      const auto x = random_normal(kHeadDim, 103);
      auto y = x;
      ref::rope(y.data(), 1, kHeadDim, kNRot, pos, 10000.0f, style);
      for (int64_t i = 0; i < kNRot / 2; ++i) {
        const double theta = pos * std::pow(10000.0, -2.0 * i / kNRot);
        const auto [i0, i1] = pair_slots(style, i);
        const double a = x[i0], b = x[i1];
        const double norm = std::hypot(a, b);
        const double tol = ((i + 2) * std::ldexp(theta, -24) + 1e-6) * norm;
        EXPECT_NEAR(y[i0], a * std::cos(theta) - b * std::sin(theta), tol) << pos << " " << i;
        EXPECT_NEAR(y[i1], a * std::sin(theta) + b * std::cos(theta), tol) << pos << " " << i;
      }
    }
  }
}

TEST(OpsRefTest, SiluKnownValues) {
  const std::vector<float> x = {0.0f, 1.0f, -1.0f, 30.0f, -100.0f};
  std::vector<float> y(x.size());
  ops::silu(x.data(), y.data(), 5);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_NEAR(y[1], 0.7310585786f, 2e-7f);
  EXPECT_NEAR(y[2], -0.2689414214f, 2e-7f);
  EXPECT_NEAR(y[3], 30.0f, 1e-5f);
  EXPECT_EQ(y[4], 0.0f);  // e^100 overflows: -100 / inf = -0
  std::vector<float> u = {2.0f, 2.0f, 2.0f, 2.0f, 2.0f};
  ops::swiglu(x.data(), u.data(), u.data(), 5);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(u[i], 2.0f * y[i]);
}

TEST(OpsRefTest, GeluTanhAndErfMatchDoublePrecision) {
  const auto x = random_normal(4097, 110, 0.0f, 4.0f);
  std::vector<float> tanh_y(x.size()), erf_y(x.size());
  ref::gelu_tanh(x.data(), tanh_y.data(), 4097);
  ref::gelu_erf(x.data(), erf_y.data(), 4097);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double want_tanh =
        0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
    const double want_erf = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    // For x << 0 the result is 0.5 x (1 + (-1 + tiny)): the f32 sum 1 + tanh keeps ~1e-7
    // absolute error, scaled by 0.5|x|: a floor of |x| absolute on top of 1e-6 relative.
    EXPECT_NEAR(tanh_y[i], want_tanh, 1e-6 * std::max(std::abs(want_tanh), std::abs(v)))
        << "x = " << v;
    EXPECT_NEAR(erf_y[i], want_erf, 1e-6 * std::max(std::abs(want_erf), std::abs(v)))
        << "x = " << v;
  }
}

TEST(OpsRefTest, GeluGgmlIsTheFp16TableOfGeluTanh) {
  // Inside (-10, 10): fp16(gelu_tanh(fp16(x))), for every fp16 value x of that range.
  int checked = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float x = fp16_to_fp32(static_cast<uint16_t>(h));
    if (!(x > -10.0f && x < 10.0f)) continue;
    float t = 0.0f, y = 0.0f;
    ref::gelu_tanh(&x, &t, 1);
    ref::gelu_ggml(&x, &y, 1);
    ASSERT_EQ(std::bit_cast<uint32_t>(y), std::bit_cast<uint32_t>(fp16_to_fp32(fp32_to_fp16(t))))
        << "x = " << x;
    ++checked;
  }
  EXPECT_EQ(checked, 2 * 0x4900);  // fp16 10.0 is 0x4900: every magnitude below it, both signs

  // Values between fp16 numbers go through the rounding of x to fp16 first.
  const std::vector<float> x = {0.0f,
                                1.0f,
                                -10.0f,
                                10.0f,
                                std::nextafter(10.0f, 0.0f),
                                std::nextafter(-10.0f, 0.0f),
                                -10.5f,
                                12.25f,
                                1.0f + 0x1p-12f,
                                -kInf,
                                kInf};
  std::vector<float> y(x.size());
  ops::gelu_ggml(x.data(), y.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(y[0], 0.0f);
  // gelu_tanh(1) = 0.841192; the nearest fp16 (step 2^-11 in [0.5, 1)) is 1723 * 2^-11.
  EXPECT_EQ(y[1], 0.84130859375f);
  EXPECT_EQ(y[2], 0.0f);   // x <= -10: 0
  EXPECT_EQ(y[3], 10.0f);  // x >= 10: x
  EXPECT_EQ(y[4], 10.0f);  // fp16(9.9999990) = 10 and gelu(10) rounds to fp16 10
  EXPECT_EQ(y[5], 0.0f);   // fp16 = -10, gelu(-10) ~ -1e-22: fp16 -0
  EXPECT_EQ(y[6], 0.0f);
  EXPECT_EQ(y[7], 12.25f);
  EXPECT_EQ(y[8], y[1]);  // 1 + 2^-12 is a tie between fp16 1 and 1 + 2^-10: rounds to even 1
  EXPECT_EQ(y[9], 0.0f);
  EXPECT_EQ(y[10], kInf);

  // The table is ggml's GELU to fp16 precision: within 2^-11 relative (plus the fp16 rounding
  // of x, whose effect is bounded by gelu' <= 1.13 times 2^-11 |x|) of double-precision GELU.
  const auto r = random_normal(4097, 111, 0.0f, 4.0f);
  std::vector<float> g(r.size());
  ref::gelu_ggml(r.data(), g.data(), 4097);
  for (size_t i = 0; i < r.size(); ++i) {
    const double v = r[i];
    const double want =
        0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(g[i], want, std::ldexp(std::abs(want) + 1.13 * std::abs(v), -11) + 1e-7)
        << "x = " << v;
  }
}

// ---------------------------------------------------------------------------------------------
// get_rows

TEST(OpsGetRowsTest, F32RowsAreCopied) {
  const int64_t n_embd = 33, n_rows = 7;
  const auto matrix = random_normal(n_embd * n_rows, 120);
  const std::vector<int32_t> ids = {6, 0, 3, 3, 6, 1};
  std::vector<float> out(ids.size() * n_embd, -1.0f);
  get_rows(GgmlType::F32, matrix.data(), n_embd, ids.data(), static_cast<int64_t>(ids.size()),
           out.data());
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int64_t j = 0; j < n_embd; ++j) {
      ASSERT_EQ(out[i * n_embd + j], matrix[ids[i] * n_embd + j]) << "id " << ids[i];
    }
  }
}

TEST(OpsGetRowsTest, F16RowsAreWidened) {
  const int64_t n_embd = 9, n_rows = 3;
  const auto values = random_normal(n_embd * n_rows, 121);
  std::vector<uint16_t> matrix(values.size());
  for (size_t i = 0; i < values.size(); ++i) matrix[i] = fp32_to_fp16(values[i]);
  const std::vector<int32_t> ids = {2, 1, 2};
  std::vector<float> out(ids.size() * n_embd);
  get_rows(GgmlType::F16, matrix.data(), n_embd, ids.data(), 3, out.data());
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int64_t j = 0; j < n_embd; ++j) {
      ASSERT_EQ(out[i * n_embd + j], fp16_to_fp32(matrix[ids[i] * n_embd + j]));
    }
  }
}

TEST(OpsGetRowsTest, EveryWeightTypeDequantizesTheRightRow) {
  // 256 weights per row: a whole number of blocks of every type; row r of the matrix is row r of
  // the type's own quantization, so a wrong row stride picks up another row's bytes.
  const int64_t n_embd = 256, n_rows = 7;
  const auto values = random_normal(n_embd * n_rows, 122);
  const std::vector<int32_t> ids = {6, 0, 3, 3, 5};
  for (const QuantTraits& traits : quant_traits_table()) {
    SCOPED_TRACE(std::string(ggml_type_name(traits.type)));
    const auto row_bytes = static_cast<size_t>(ggml_row_size(traits.type, n_embd));
    std::vector<uint8_t> matrix(row_bytes * n_rows);
    for (int64_t r = 0; r < n_rows; ++r) {
      traits.quantize(values.data() + r * n_embd, matrix.data() + r * row_bytes, n_embd);
    }
    std::vector<float> out(ids.size() * n_embd), want(n_embd);
    get_rows(traits.type, matrix.data(), n_embd, ids.data(), static_cast<int64_t>(ids.size()),
             out.data());
    for (size_t i = 0; i < ids.size(); ++i) {
      traits.dequantize(matrix.data() + ids[i] * row_bytes, want.data(), n_embd);
      const std::vector<float> got(out.begin() + i * n_embd, out.begin() + (i + 1) * n_embd);
      expect_bits_equal(got, want, "get_rows");
      // And it is the row asked for, not a neighbour: close to the original values.
      double err = 0.0, norm = 0.0;
      for (int64_t j = 0; j < n_embd; ++j) {
        err += std::pow(got[j] - values[ids[i] * n_embd + j], 2);
        norm += std::pow(values[ids[i] * n_embd + j], 2);
      }
      EXPECT_LT(std::sqrt(err / norm),
                0.5);  // Q2_K's RMSE is 0.35 of the signal; a wrong row's 1.4
    }
  }
}

}  // namespace
}  // namespace quire::engine::ops
