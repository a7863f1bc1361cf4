// Matrix products: the fast kernels against the reference kernels for every weight type, odd
// shapes, several thread counts, and the BLAS path against a double-precision product.
#include "engine/kernels/matmul.h"

#include <cmath>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "engine/quant/quant_traits.h"

namespace quire::engine {
namespace {

struct Problem {
  WeightMatrix w;
  std::vector<uint8_t> bytes;
  std::vector<float> x;
};

// n_out rows built by tiling `distinct` randomly generated, reference-quantized rows (so a large
// matrix costs little to make); rows have different magnitudes.
Problem make_problem(GgmlType type, int64_t n_in, int64_t n_out, int64_t n_tokens, uint64_t seed,
                     int64_t distinct = 64) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const QuantTraits* t = quant_traits(type);
  Problem p;
  const size_t row = ggml_row_size(type, static_cast<uint64_t>(n_in));
  distinct = std::min(distinct, n_out);
  std::vector<uint8_t> rows(row * static_cast<size_t>(distinct));
  std::vector<float> f(static_cast<size_t>(n_in));
  for (int64_t r = 0; r < distinct; ++r) {
    const float scale = std::pow(10.0f, static_cast<float>(r % 5) - 2.0f);
    for (auto& v : f) v = normal(rng) * scale;
    t->quantize(f.data(), rows.data() + r * row, n_in);
  }
  p.bytes.resize(row * static_cast<size_t>(n_out));
  for (int64_t r = 0; r < n_out; ++r) {
    std::memcpy(p.bytes.data() + r * row, rows.data() + (r % distinct) * row, row);
  }
  p.w = WeightMatrix{type, p.bytes.data(), n_in, n_out};
  p.x.resize(static_cast<size_t>(n_in * n_tokens));
  for (auto& v : p.x) v = normal(rng);
  return p;
}

std::vector<float> run(const Problem& p, int64_t n_tokens, int threads, MatmulPath path,
                       const KernelSet& ks) {
  ThreadPool pool(threads);
  MatmulScratch scratch;
  std::vector<float> y(static_cast<size_t>(n_tokens * p.w.n_out), -12345.0f);
  matmul(p.w, p.x.data(), n_tokens, y.data(), pool, scratch, path, ks);
  return y;
}

// Largest |a - b| relative to the largest |b|: per-output relative error is meaningless where
// an output cancels to ~0, so the scale is the matrix's output magnitude.
double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

int64_t block_of(GgmlType type) {
  return ggml_type_info(type).block_size;
}

class MatmulTypeTest : public testing::TestWithParam<GgmlType> {};

TEST_P(MatmulTypeTest, FastMatchesReferenceOnOddShapes) {
  const GgmlType type = GetParam();
  const KernelSet& fast = kernels();
  const int64_t bs = std::max<int64_t>(block_of(type), 32);
  for (int64_t n_in : {bs, 3 * bs}) {
    for (int64_t n_out : {1, 7, 33}) {
      for (int64_t n_tokens : {1, 3, 17}) {
        Problem p = make_problem(type, n_in, n_out, n_tokens, 7 * n_in + n_out);
        auto ref = run(p, n_tokens, 1, MatmulPath::kQuantized, generic_kernels());
        auto got = run(p, n_tokens, 3, MatmulPath::kQuantized, fast);
        for (float v : ref) ASSERT_TRUE(std::isfinite(v));
        EXPECT_LE(max_rel_diff(got, ref), 1e-5)
            << ggml_type_name(type) << " " << n_in << "x" << n_out << " tokens " << n_tokens
            << " kernels " << fast.name();
      }
    }
  }
}

// The AVX2 kernels of these types round in llama.cpp's order (8 lanes per block, or a chain of
// per-block FMAs) instead of the reference's one rounding per block; their bit-exactness to
// llama.cpp's order is tested in tests/engine/quant.
bool avx2_rounds_like_llama(GgmlType type) {
  return type == GgmlType::Q4_0 || type == GgmlType::Q5_0 || type == GgmlType::Q8_0 ||
         type == GgmlType::Q4_K || type == GgmlType::Q6_K;
}

// One block: the same integer sums, so the reference's single rounding per output, bit for bit;
// for the llama-order kernels at most 8 rounded lane products and their sum (< 16 roundings of
// 2^-24 of the largest output, as the outputs' lane terms are of the outputs' size here).
TEST_P(MatmulTypeTest, OneBlockIntegerDotsMatchReference) {
  const GgmlType type = GetParam();
  if (!ggml_type_info(type).quantized) GTEST_SKIP() << "float type: no integer sums";
  Problem p = make_problem(type, block_of(type), 9, 5, 99);
  auto ref = run(p, 5, 1, MatmulPath::kQuantized, generic_kernels());
  auto got = run(p, 5, 2, MatmulPath::kQuantized, kernels());
  if (kernels().name() == "avx2" && avx2_rounds_like_llama(type)) {
    EXPECT_LE(max_rel_diff(got, ref), 1e-6) << ggml_type_name(type);
  } else {
    EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)), 0)
        << ggml_type_name(type) << " with " << kernels().name();
  }
}

TEST_P(MatmulTypeTest, ResultsDoNotDependOnThreadCount) {
  const GgmlType type = GetParam();
  Problem p = make_problem(type, 2 * std::max<int64_t>(block_of(type), 32), 67, 9, 5);
  for (int64_t n_tokens : {1, 9}) {
    auto one = run(p, n_tokens, 1, MatmulPath::kQuantized, kernels());
    for (int threads : {2, 3, 4}) {
      auto many = run(p, n_tokens, threads, MatmulPath::kQuantized, kernels());
      EXPECT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0)
          << ggml_type_name(type) << " threads " << threads << " tokens " << n_tokens;
    }
  }
}

TEST_P(MatmulTypeTest, LargeGemvMatchesReference) {
  // The decode shape of a 7B FFN: 4096 inputs, 11008 outputs.
  const GgmlType type = GetParam();
  Problem p = make_problem(type, 4096, 11008, 1, 4242);
  auto ref = run(p, 1, 1, MatmulPath::kQuantized, generic_kernels());
  auto got = run(p, 1, 2, MatmulPath::kQuantized, kernels());
  EXPECT_LE(max_rel_diff(got, ref), 1e-5) << ggml_type_name(type);
}

TEST_P(MatmulTypeTest, BlasPathMatchesDoublePrecisionProduct) {
  const GgmlType type = GetParam();
  const int64_t n_in = 2 * std::max<int64_t>(block_of(type), 64), n_out = 130, n_tokens = 40;
  Problem p = make_problem(type, n_in, n_out, n_tokens, 31);
  auto got = run(p, n_tokens, 2, MatmulPath::kBlas, kernels());
  // Oracle: dequantized weights times f32 activations in double.
  std::vector<float> wrow(static_cast<size_t>(n_in));
  std::vector<float> want(got.size());
  for (int64_t o = 0; o < n_out; ++o) {
    quant_traits(type)->dequantize(p.w.row(o), wrow.data(), n_in);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double acc = 0;
      for (int64_t i = 0; i < n_in; ++i) acc += static_cast<double>(wrow[i]) * p.x[t * n_in + i];
      want[t * n_out + o] = static_cast<float>(acc);
    }
  }
  // f32 accumulation over n_in <= 512 terms: well under 1e-5 of the output scale.
  EXPECT_LE(max_rel_diff(got, want), 1e-5) << ggml_type_name(type);
  // The quantized path differs only by activation rounding (8-bit: well under 2%).
  if (ggml_type_info(type).quantized) {
    auto quantized = run(p, n_tokens, 2, MatmulPath::kQuantized, kernels());
    EXPECT_LE(max_rel_diff(quantized, want), 2e-2) << ggml_type_name(type);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTypeTest,
                         testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16,
                                         GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                                         GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K,
                                         GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                         GgmlType::Q6_K),
                         [](const testing::TestParamInfo<GgmlType>& info) {
                           return std::string(ggml_type_name(info.param));
                         });

TEST(MatmulTest, ZeroTokensOrRowsIsANoOp) {
  Problem p = make_problem(GgmlType::Q8_0, 64, 4, 1, 1);
  ThreadPool pool(2);
  MatmulScratch scratch;
  float y = 7.0f;
  matmul(p.w, p.x.data(), 0, &y, pool, scratch);
  EXPECT_EQ(y, 7.0f);
  WeightMatrix empty = p.w;
  empty.n_out = 0;
  matmul(empty, p.x.data(), 1, &y, pool, scratch);
  EXPECT_EQ(y, 7.0f);
}

TEST(MatmulTest, AutoPathRule) {
  EXPECT_EQ(choose_matmul_path(GgmlType::Q4_K, 1), MatmulPath::kQuantized);
  EXPECT_EQ(choose_matmul_path(GgmlType::Q4_K, 511), MatmulPath::kQuantized);
  EXPECT_EQ(choose_matmul_path(GgmlType::Q4_K, 512), MatmulPath::kBlas);
  EXPECT_EQ(choose_matmul_path(GgmlType::Q8_0, 64), MatmulPath::kBlas);
  EXPECT_GT(blas_min_tokens(GgmlType::Q8_0), 1);
}

}  // namespace
}  // namespace quire::engine
