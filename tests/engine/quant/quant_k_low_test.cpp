// Q2_K and Q3_K: dequantization against llama.cpp's goldens, quantizer quality, reference dot
// products against an independent float computation, and the AVX2 kernels against the
// reference.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/core/cpu_features.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/kernels/avx2.h"
#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quant_k.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

using DequantizeFn = void (*)(const void*, float*, int64_t);
using QuantizeFn = void (*)(const float*, void*, int64_t);
using DotFn = void (*)(int64_t, float*, const void*, const void*);

struct LowType {
  GgmlType type;
  const char* name;    // GGUF spelling
  const char* tensor;  // suffix of q.<t> / deq.<t> in quant-ref.gguf
  size_t block_bytes;
  double llama_rmse;  // quant-ref-stats.json, for the sanity check of the goldens
  DequantizeFn dequantize;
  QuantizeFn quantize;
  DotFn dot;
  DotFn dot_avx2;
};

const LowType kTypes[] = {
    {GgmlType::Q2_K, "Q2_K", "q2_k", sizeof(BlockQ2_K), 5.048999466962145, dequantize_row_q2_k,
     quantize_row_q2_k, vec_dot_q2_k_q8_k, avx2::vec_dot_q2_k_q8_k},
    {GgmlType::Q3_K, "Q3_K", "q3_k", sizeof(BlockQ3_K), 3.078254955126222, dequantize_row_q3_k,
     quantize_row_q3_k, vec_dot_q3_k_q8_k, avx2::vec_dot_q3_k_q8_k},
};

size_t row_bytes(const LowType& t, int64_t n) {
  return t.block_bytes * static_cast<size_t>(n / kQK_K);
}

std::vector<uint8_t> quantize(const LowType& t, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(t, static_cast<int64_t>(x.size())));
  t.quantize(x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

std::vector<float> dequantize(const LowType& t, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  t.dequantize(q.data(), y.data(), n);
  return y;
}

// Q8_K activations by llama.cpp's rule (quant_k.h, quantize_row_q8_k), written out here so these
// tests do not depend on the Q4_K..Q6_K file: per 256 values, max = the element of largest |x|
// (first one on ties) with its sign; max == 0 gives an all-zero block; else iscale = -127/max,
// q = round-half-even(iscale * x) capped at 127, d = 1/iscale, bsums = sums of 16 consecutive q.
std::vector<BlockQ8_K> make_q8_k(const std::vector<float>& x) {
  std::vector<BlockQ8_K> out(x.size() / kQK_K);
  for (size_t b = 0; b < out.size(); ++b) {
    const float* v = x.data() + b * kQK_K;
    BlockQ8_K& blk = out[b];
    std::memset(&blk, 0, sizeof(blk));
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < kQK_K; ++i) {
      if (std::fabs(v[i]) > amax) {
        amax = std::fabs(v[i]);
        max = v[i];
      }
    }
    if (amax == 0.0f) continue;
    const float iscale = -127.0f / max;
    for (int i = 0; i < kQK_K; ++i) {
      const int q = static_cast<int>(std::nearbyint(iscale * v[i]));
      blk.qs[i] = static_cast<int8_t>(std::min(127, q));
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += blk.qs[16 * j + i];
      blk.bsums[j] = static_cast<int16_t>(sum);
    }
    blk.d = 1.0f / iscale;
  }
  return out;
}

std::vector<float> dequantize_q8_k(const std::vector<BlockQ8_K>& a) {
  std::vector<float> y;
  for (const auto& blk : a) {
    for (int i = 0; i < kQK_K; ++i) y.push_back(blk.d * static_cast<float>(blk.qs[i]));
  }
  return y;
}

std::vector<float> gaussian(int64_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = scale * dist(rng);
  return x;
}

double rms(const std::vector<float>& x) {
  double ss = 0.0;
  for (float v : x) ss += static_cast<double>(v) * v;
  return std::sqrt(ss / static_cast<double>(x.size()));
}

double rmse(const float* a, const float* b, size_t n) {
  double se = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(a[i]) - b[i];
    se += e * e;
  }
  return std::sqrt(se / static_cast<double>(n));
}

// ---------------------------------------------------------------------------------------------
// Conformance with llama.cpp (quant-ref.gguf).

class QuantRef : public ::testing::Test {
 protected:
  void SetUp() override {
    QUIRE_REQUIRE_SHARED();
    auto file = gguf::GgufFile::open(test::shared_dir() + "/conformance/quant/quant-ref.gguf");
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    file_.emplace(std::move(file).value());
    const gguf::TensorInfo* src = file_->find_tensor("src");
    ASSERT_NE(src, nullptr);
    ASSERT_EQ(src->type, GgmlType::F32);
    ASSERT_EQ(src->ne[0], kCols);
    ASSERT_EQ(src->ne[1], kRows);
    src_.resize(kRows * kCols);
    std::memcpy(src_.data(), src->data, src_.size() * sizeof(float));
  }

  // Returns the tensor, checked to be kRows x kCols of the given type with the expected size.
  const gguf::TensorInfo* tensor(const std::string& name, GgmlType type, size_t row_size) {
    const gguf::TensorInfo* t = file_->find_tensor(name);
    EXPECT_NE(t, nullptr) << name;
    if (t == nullptr) return nullptr;
    EXPECT_EQ(t->type, type) << name;
    EXPECT_EQ(t->ne[0], kCols) << name;
    EXPECT_EQ(t->ne[1], kRows) << name;
    EXPECT_EQ(t->n_bytes, row_size * kRows) << name;
    return t->type == type && t->n_bytes == row_size * kRows ? t : nullptr;
  }

  static constexpr int64_t kRows = 8;
  static constexpr int64_t kCols = 1024;
  std::optional<gguf::GgufFile> file_;
  std::vector<float> src_;
};

TEST_F(QuantRef, DequantizeMatchesLlamaCppBitForBit) {
  for (const LowType& t : kTypes) {
    const auto* q = tensor(std::string("q.") + t.tensor, t.type, row_bytes(t, kCols));
    const auto* deq = tensor(std::string("deq.") + t.tensor, GgmlType::F32, kCols * 4);
    ASSERT_NE(q, nullptr);
    ASSERT_NE(deq, nullptr);
    std::vector<float> got(kCols);
    int mismatches = 0;
    for (int64_t r = 0; r < kRows; ++r) {
      t.dequantize(q->data + r * row_bytes(t, kCols), got.data(), kCols);
      const auto* want = reinterpret_cast<const float*>(deq->data) + r * kCols;
      for (int64_t i = 0; i < kCols; ++i) {
        if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i])) {
          if (++mismatches <= 5) {
            ADD_FAILURE() << t.name << " row " << r << " col " << i << ": got " << got[i]
                          << ", llama.cpp " << want[i];
          }
        }
      }
    }
    EXPECT_EQ(mismatches, 0) << t.name;
  }
}

// Our quantizer is not llama.cpp's (their K-quant searches are not reproduced), so quality is
// compared instead of bytes: RMSE over all 8192 values within 5% of llama.cpp's (computed here
// from the goldens, and checked against quant-ref-stats.json), and every row's relative RMSE
// within 5% of llama.cpp's for that row.
TEST_F(QuantRef, QuantizerRmseWithinFivePercentOfLlamaCpp) {
  for (const LowType& t : kTypes) {
    const auto* deq = tensor(std::string("deq.") + t.tensor, GgmlType::F32, kCols * 4);
    ASSERT_NE(deq, nullptr);
    const auto* llama = reinterpret_cast<const float*>(deq->data);
    const double llama_rmse = rmse(llama, src_.data(), src_.size());
    EXPECT_NEAR(llama_rmse, t.llama_rmse, 1e-6 * t.llama_rmse) << t.name;

    const auto q = quantize(t, src_);  // one call: rows are whole super-blocks
    const auto y = dequantize(t, q, kRows * kCols);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << t.name;
    const double ours = rmse(y.data(), src_.data(), src_.size());
    std::printf("[ info ] %s RMSE ours %.5f, llama.cpp %.5f (ratio %.4f)\n", t.name, ours,
                llama_rmse, ours / llama_rmse);
    EXPECT_LE(ours, 1.05 * llama_rmse) << t.name;

    for (int64_t r = 0; r < kRows; ++r) {
      const size_t off = static_cast<size_t>(r * kCols);
      const std::vector<float> row(src_.begin() + off, src_.begin() + off + kCols);
      const double ours_rel = rmse(y.data() + off, row.data(), kCols) / rms(row);
      const double llama_rel = rmse(llama + off, row.data(), kCols) / rms(row);
      EXPECT_LE(ours_rel, 1.05 * llama_rel) << t.name << " row " << r;
    }
    // Row 7, columns 512..767: a whole zero super-block must come back as exact zeros.
    for (int64_t i = 7 * kCols + 512; i < 7 * kCols + 768; ++i) {
      ASSERT_EQ(y[static_cast<size_t>(i)], 0.0f) << t.name << " index " << i;
    }
  }
}

// Quantizing llama.cpp's own dequantized values: they lie exactly on a Q2_K / Q3_K grid, which
// a good search should find again. Measured: Q3_K recovers every value exactly; Q2_K (scale and
// min on coarse 4-bit grids) comes back with 0.148x the RMSE llama.cpp's quantization itself has
// (0.171x without the step grid of the sub-block search). Bounds: 0.16x and 0.01x.
TEST_F(QuantRef, RequantizingGoldenValuesFindsTheirGrid) {
  const double bound[] = {0.16, 0.01};
  for (int ti = 0; ti < 2; ++ti) {
    const LowType& t = kTypes[ti];
    const auto* deq = tensor(std::string("deq.") + t.tensor, GgmlType::F32, kCols * 4);
    ASSERT_NE(deq, nullptr);
    const auto* p = reinterpret_cast<const float*>(deq->data);
    const std::vector<float> golden(p, p + kRows * kCols);
    const auto y = dequantize(t, quantize(t, golden), kRows * kCols);
    const double err = rmse(y.data(), golden.data(), golden.size());
    const double llama_err = rmse(golden.data(), src_.data(), src_.size());
    EXPECT_LE(err, bound[ti] * llama_err) << t.name << " RMSE " << err;
  }
}

// ---------------------------------------------------------------------------------------------
// Quantizer on random data.

// Relative RMSE bounds for Gaussian data. Measured with this quantizer: Q2_K 0.276 .. 0.295,
// Q3_K 0.148 .. 0.152, the same at every scale (the bounds leave ~5% for other compilers'
// rounding). For comparison, plain min/max rounding without searches or refits measures 0.33
// (Q2_K), above its bound, and 0.155 (Q3_K): for Q3_K the sharper check is the outlier-laden
// quant-ref test above.
constexpr double kGaussianRelBound[] = {0.31, 0.16};

TEST(QuantKLow, RoundTripRelativeErrorOnGaussianData) {
  const double* bound = kGaussianRelBound;
  for (int ti = 0; ti < 2; ++ti) {
    const LowType& t = kTypes[ti];
    for (int64_t n : {256, 512, 4096, 11008}) {
      for (float scale : {0.01f, 1.0f, 100.0f}) {
        const auto x = gaussian(n, scale, static_cast<uint32_t>(n) + 17u);
        const auto y = dequantize(t, quantize(t, x), n);
        const double rel = rmse(y.data(), x.data(), x.size()) / rms(x);
        EXPECT_LE(rel, bound[ti]) << t.name << " n=" << n << " scale=" << scale;
        EXPECT_GT(rel, 0.01) << t.name << ": impossibly good for 2-3 bits";
      }
    }
  }
}

TEST(QuantKLow, QuantizerIsDeterministicAndRowsAreIndependent) {
  // Rows quantized one by one equal the whole matrix quantized at once (1, 3, 7 and 33 rows).
  for (const LowType& t : kTypes) {
    for (int64_t rows : {1, 3, 7, 33}) {
      const int64_t n = 512;
      const auto x = gaussian(rows * n, 1.0f, static_cast<uint32_t>(rows));
      const auto all = quantize(t, x);
      EXPECT_EQ(all, quantize(t, x)) << t.name;
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<uint8_t> one(row_bytes(t, n));
        t.quantize(x.data() + r * n, one.data(), n);
        ASSERT_EQ(0, std::memcmp(one.data(), all.data() + r * row_bytes(t, n), one.size()))
            << t.name << " row " << r << " of " << rows;
      }
    }
  }
}

TEST(QuantKLow, ZeroAndConstantSubBlocks) {
  for (const LowType& t : kTypes) {
    // A whole zero super-block: all zeros back, no NaN (d = 0 must not be divided by).
    const std::vector<float> zeros(kQK_K, 0.0f);
    for (float v : dequantize(t, quantize(t, zeros), kQK_K)) ASSERT_EQ(v, 0.0f) << t.name;

    // Zero sub-blocks among non-zero ones stay exactly zero; the rest is still quantized well.
    auto x = gaussian(2 * kQK_K, 1.0f, 5);
    for (int s : {0, 3, 15, 16, 31}) std::fill_n(x.begin() + 16 * s, 16, 0.0f);
    const auto y = dequantize(t, quantize(t, x), 2 * kQK_K);
    for (int s : {0, 3, 15, 16, 31}) {
      for (int l = 0; l < 16; ++l) ASSERT_EQ(y[16 * s + l], 0.0f) << t.name << " sub " << s;
    }
    EXPECT_LE(rmse(y.data(), x.data(), x.size()) / rms(x), kGaussianRelBound[&t - kTypes])
        << t.name;

    // A constant super-block is on the grid (Q2_K: q = 3 or a min; Q3_K: v = -4 or 3 with one
    // scale), up to the fp16 rounding of d (relative 2^-11) times small integer factors.
    for (float c : {0.75f, -1.25f}) {
      const std::vector<float> flat(kQK_K, c);
      for (float v : dequantize(t, quantize(t, flat), kQK_K)) {
        ASSERT_NEAR(v, c, 1e-3f * std::fabs(c)) << t.name << " constant " << c;
      }
    }
  }
}

// Weights are input, not invariants: NaN, infinities and values beyond fp16's range must not
// crash or reach an undefined float -> int conversion (run under UBSan with
// -fsanitize=float-cast-overflow), and must not leak into the other super-blocks of the row,
// which come out exactly as when quantized on their own.
TEST(QuantKLow, NonFiniteWeightsStayInTheirSuperBlock) {
  for (const LowType& t : kTypes) {
    auto x = gaussian(6 * kQK_K, 1.0f, 11);
    x[3] = std::numeric_limits<float>::quiet_NaN();
    x[2 * kQK_K + 5] = std::numeric_limits<float>::infinity();
    x[4 * kQK_K + 7] = -1e30f;  // finite, but its scale overflows fp16
    const auto all = quantize(t, x);
    for (int b : {1, 3, 5}) {
      const std::vector<float> clean(x.begin() + b * kQK_K, x.begin() + (b + 1) * kQK_K);
      const auto alone = quantize(t, clean);
      ASSERT_EQ(0, std::memcmp(alone.data(), all.data() + b * t.block_bytes, t.block_bytes))
          << t.name << " super-block " << b;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dot products.

// Random activations at a few magnitudes.
std::vector<float> activations(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::uniform_real_distribution<float> mag(-3.0f, 3.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float scale = std::pow(10.0f, mag(rng));  // blocks of very different sizes
    for (int i = 0; i < kQK_K; ++i) x[static_cast<size_t>(b * kQK_K + i)] *= scale;
  }
  return x;
}

// The reference dot product against double sums of the dequantized rows. Each dequantized
// weight and activation is a float; the reference differs only by rounding d_a*d (relative
// 2^-24 of each super-block's magnitude sum), the double additions and the final cast, so
// |ref - exact| <= 1e-6 * sum |w_i a_i| + the float cast of the result.
TEST(QuantKLow, ReferenceDotMatchesDequantizedDot) {
  for (const LowType& t : kTypes) {
    for (int64_t n : {256, 512, 4096, 11008}) {
      for (uint32_t seed : {1u, 2u, 3u}) {
        const auto w = quantize(t, gaussian(n, 0.5f, seed));
        const auto a = make_q8_k(activations(n, seed + 100));
        const auto wf = dequantize(t, w, n);
        const auto af = dequantize_q8_k(a);
        double exact = 0.0, mag = 0.0;
        for (size_t i = 0; i < wf.size(); ++i) {
          exact += static_cast<double>(wf[i]) * af[i];
          mag += std::fabs(static_cast<double>(wf[i]) * af[i]);
        }
        float got = 0.0f;
        t.dot(n, &got, w.data(), a.data());
        EXPECT_NEAR(got, exact, 1e-6 * mag + 1e-7 * std::fabs(exact))
            << t.name << " n=" << n << " seed " << seed;
      }
    }
  }
}

// Arbitrary block bytes (every bit pattern of levels, scales and mins) with a sane fp16 d.
std::vector<uint8_t> random_blocks(const LowType& t, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(row_bytes(t, n));
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    uint8_t* blk = bytes.data() + static_cast<size_t>(b) * t.block_bytes;
    const uint16_t d = fp32_to_fp16(std::pow(10.0f, dist(rng)) * 1e-2f);
    const uint16_t dmin = fp32_to_fp16(std::pow(10.0f, dist(rng)) * 1e-2f);
    if (t.type == GgmlType::Q2_K) {
      std::memcpy(blk + offsetof(BlockQ2_K, d), &d, 2);
      std::memcpy(blk + offsetof(BlockQ2_K, dmin), &dmin, 2);
    } else {
      std::memcpy(blk + offsetof(BlockQ3_K, d), &d, 2);
    }
  }
  return bytes;
}

class QuantKLowAvx2 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_features().has_avx2_kernels()) GTEST_SKIP() << "no AVX2+FMA+F16C on this CPU";
  }
};

// The kernels compute the reference's integer sums and the same double operations on them, so
// they agree bit for bit for every n (avx2.h only promises 1e-5 across blocks).
TEST_F(QuantKLowAvx2, DotEqualsReferenceBitForBit) {
  for (const LowType& t : kTypes) {
    for (int64_t n : {256, 512, 4096, 11008}) {
      for (uint32_t seed : {7u, 8u, 9u}) {
        for (float scale : {1e-3f, 1.0f, 1e3f}) {
          const auto a = make_q8_k(activations(n, seed * 31));
          for (int kind = 0; kind < 2; ++kind) {
            const auto w = kind == 0 ? quantize(t, gaussian(n, scale, seed))
                                     : random_blocks(t, n, seed + static_cast<uint32_t>(n));
            float ref = 0.0f, fast = 0.0f;
            t.dot(n, &ref, w.data(), a.data());
            t.dot_avx2(n, &fast, w.data(), a.data());
            ASSERT_EQ(std::bit_cast<uint32_t>(fast), std::bit_cast<uint32_t>(ref))
                << t.name << " n=" << n << " seed " << seed << " scale " << scale
                << (kind == 0 ? " quantized" : " random bytes") << ": " << fast << " vs " << ref;
          }
        }
      }
    }
  }
}

// Extremes of the integer ranges: all levels at their largest magnitude, all scales and mins
// at 15 (Q2_K) or -32 (Q3_K), activations at +-127; and zero activations / zero weights.
TEST_F(QuantKLowAvx2, DotAtIntegerExtremes) {
  const int64_t n = 4 * kQK_K;
  std::vector<float> big(n);
  for (int64_t i = 0; i < n; ++i) big[static_cast<size_t>(i)] = (i % 3 == 0) ? -1.0f : 1.0f;
  for (const LowType& t : kTypes) {
    std::vector<uint8_t> w(row_bytes(t, n), 0xff);
    std::vector<uint8_t> w3(row_bytes(t, n), 0x00);  // Q3_K: levels -4, stored scale 0 -> -32
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const uint16_t one = fp32_to_fp16(1.0f);
      if (t.type == GgmlType::Q2_K) {
        std::memcpy(w.data() + b * t.block_bytes + offsetof(BlockQ2_K, d), &one, 2);
        std::memcpy(w.data() + b * t.block_bytes + offsetof(BlockQ2_K, dmin), &one, 2);
      } else {
        std::memcpy(w.data() + b * t.block_bytes + offsetof(BlockQ3_K, d), &one, 2);
        std::memcpy(w3.data() + b * t.block_bytes + offsetof(BlockQ3_K, d), &one, 2);
      }
    }
    for (const auto& a : {make_q8_k(big), make_q8_k(std::vector<float>(n, 0.0f))}) {
      for (const auto* wp : {&w, &w3}) {
        float ref = 0.0f, fast = 0.0f;
        t.dot(n, &ref, wp->data(), a.data());
        t.dot_avx2(n, &fast, wp->data(), a.data());
        EXPECT_EQ(std::bit_cast<uint32_t>(fast), std::bit_cast<uint32_t>(ref)) << t.name;
      }
    }
    // Q2_K all-ones bytes: every q = 3, sc = mn = 15, d = dmin = 1; activations +-127 with
    // d_a = -1/127 (max is -1): sum = sum_i (45 q8_i - 15 q8_i) d_a = 30 * sum_i x_i.
    if (t.type == GgmlType::Q2_K) {
      float got = 0.0f;
      t.dot_avx2(n, &got, w.data(), make_q8_k(big).data());
      double want = 0.0;
      for (float v : big) want += 30.0 * v;
      EXPECT_NEAR(got, want, 1e-3 * std::fabs(want));
    }
  }
}

// A matrix-vector product the way the engine does it: rows of a quantized matrix (odd row
// counts) each dotted with one activation row.
TEST_F(QuantKLowAvx2, RowsOfAMatrix) {
  for (const LowType& t : kTypes) {
    for (int64_t rows : {1, 3, 7, 33}) {
      const int64_t n = 768;
      const auto w = quantize(t, gaussian(rows * n, 1.0f, static_cast<uint32_t>(rows) + 40));
      const auto a = make_q8_k(activations(n, 99));
      for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* row = w.data() + r * row_bytes(t, n);
        float ref = 0.0f, fast = 0.0f;
        t.dot(n, &ref, row, a.data());
        t.dot_avx2(n, &fast, row, a.data());
        EXPECT_EQ(std::bit_cast<uint32_t>(fast), std::bit_cast<uint32_t>(ref))
            << t.name << " row " << r << " of " << rows;
      }
    }
  }
}

}  // namespace
}  // namespace quire::engine
