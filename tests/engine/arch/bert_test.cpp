// BERT encoder against llama.cpp's goldens (conformance/golden/bert-tiny-*), batching, and the
// Embedder's edge cases.
#include "engine/arch/bert.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/runtime/embedder.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

using nlohmann::json;

double cosine(const float* a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

double max_abs_diff(const float* a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < b.size(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

struct Variant {
  const char* name;
  double min_cosine;       // pooled, normalized
  double max_abs;          // pooled, normalized
  double token_max_abs;    // per-token hidden state
  double min_cosine_blas;  // pooled, with f32 activations (MatmulPath::kBlas)
};

class BertGoldenTest : public testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    QUIRE_REQUIRE_SHARED();
    const std::string v = GetParam().name;
    auto file =
        gguf::GgufFile::open(test::shared_dir() + "/conformance/models/bert-tiny-" + v + ".gguf");
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    file_ = std::make_unique<gguf::GgufFile>(std::move(file).value());
    auto model = BertModel::load(*file_);
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    model_ = std::move(model).value();
    const std::string dir = test::shared_dir() + "/conformance/golden/bert-tiny-" + v + "/";
    std::ifstream e(dir + "embeddings.json"), t(dir + "token_embeddings.json");
    embeddings_ = json::parse(e);
    token_embeddings_ = json::parse(t);
  }
  std::unique_ptr<gguf::GgufFile> file_;
  std::unique_ptr<BertModel> model_;
  json embeddings_, token_embeddings_;
};

// Tolerances: conformance/README.md suggests cos >= 0.99999 and max abs <= 1e-4 for f32/f16
// (per token <= 2e-3) and up to 5e-3 for q8_0; the issue asks cos >= 0.9999 (f32, f16) and
// >= 0.999 (q8_0). The quantized matmul path reproduces llama.cpp's activation rounding.
TEST_P(BertGoldenTest, PooledEmbeddingsMatch) {
  const Variant v = GetParam();
  ThreadPool pool(2);
  BertScratch scratch;
  double worst_cos = 1, worst_abs = 0;
  for (const auto& item : embeddings_["items"]) {
    std::vector<std::vector<TokenId>> seqs = {item["ids"].get<std::vector<TokenId>>()};
    std::vector<float> hidden;
    ASSERT_TRUE(model_->forward(seqs, hidden, pool, scratch, MatmulPath::kQuantized).ok());
    std::vector<float> pooled = model_->pool_and_normalize(seqs, hidden);
    const auto want = item["pooled_mean_l2norm"].get<std::vector<float>>();
    ASSERT_EQ(pooled.size(), want.size());
    worst_cos = std::min(worst_cos, cosine(pooled.data(), want));
    worst_abs = std::max(worst_abs, max_abs_diff(pooled.data(), want));
  }
  EXPECT_GE(worst_cos, v.min_cosine) << v.name;
  EXPECT_LE(worst_abs, v.max_abs) << v.name;
  std::printf("  bert-tiny-%s: %zu texts, worst cosine %.8f, worst max abs %.3g\n", v.name,
              embeddings_["items"].size(), worst_cos, worst_abs);
}

TEST_P(BertGoldenTest, PerTokenHiddenStatesMatch) {
  const Variant v = GetParam();
  ThreadPool pool(2);
  BertScratch scratch;
  double worst = 0;
  for (const auto& item : token_embeddings_["items"]) {
    std::vector<std::vector<TokenId>> seqs = {item["ids"].get<std::vector<TokenId>>()};
    std::vector<float> hidden;
    ASSERT_TRUE(model_->forward(seqs, hidden, pool, scratch, MatmulPath::kQuantized).ok());
    const int64_t e = model_->hparams().n_embd;
    const auto& rows = item["token_embeddings"];
    ASSERT_EQ(static_cast<int64_t>(rows.size()) * e, static_cast<int64_t>(hidden.size()));
    for (size_t t = 0; t < rows.size(); ++t) {
      worst =
          std::max(worst, max_abs_diff(hidden.data() + t * e, rows[t].get<std::vector<float>>()));
    }
  }
  EXPECT_LE(worst, v.token_max_abs) << v.name;
  std::printf("  bert-tiny-%s: per-token worst max abs %.3g\n", v.name, worst);
}

TEST_P(BertGoldenTest, BlasPathStaysClose) {
  // The BLAS path keeps activations in f32: a different rounding, still the same embedding.
  ThreadPool pool(2);
  BertScratch scratch;
  double worst = 1;
  for (const auto& item : embeddings_["items"]) {
    std::vector<std::vector<TokenId>> seqs = {item["ids"].get<std::vector<TokenId>>()};
    std::vector<float> hidden;
    ASSERT_TRUE(model_->forward(seqs, hidden, pool, scratch, MatmulPath::kBlas).ok());
    std::vector<float> pooled = model_->pool_and_normalize(seqs, hidden);
    const auto want = item["pooled_mean_l2norm"].get<std::vector<float>>();
    worst = std::min(worst, cosine(pooled.data(), want));
  }
  // The bar: 0.9999 for f32/f16, 0.999 for q8_0 (whose 8-bit activation rounding the
  // BLAS path skips).
  EXPECT_GE(worst, GetParam().min_cosine_blas) << GetParam().name;
  std::printf("  bert-tiny-%s: BLAS path worst cosine %.8f\n", GetParam().name, worst);
}

INSTANTIATE_TEST_SUITE_P(Variants, BertGoldenTest,
                         testing::Values(Variant{"f32", 0.99999, 1e-4, 2e-3, 0.99999},
                                         Variant{"f16", 0.99999, 1e-4, 2e-3, 0.9999},
                                         Variant{"q8_0", 0.99999, 5e-4, 2e-3, 0.999}),
                         [](const testing::TestParamInfo<Variant>& info) {
                           return std::string(info.param.name);
                         });

TEST(BertBatchTest, FiftyMixedLengthSequencesEqualEachAlone) {
  QUIRE_REQUIRE_SHARED();
  auto file = gguf::GgufFile::open(test::shared_dir() + "/conformance/models/bert-tiny-f16.gguf");
  ASSERT_TRUE(file.ok());
  auto model = BertModel::load(*file);
  ASSERT_TRUE(model.ok());
  std::mt19937 rng(5);
  std::vector<std::vector<TokenId>> seqs;
  for (int i = 0; i < 50; ++i) {
    const int len = 1 + static_cast<int>(rng() % 200);
    std::vector<TokenId> s = {101};
    for (int j = 1; j < len; ++j) s.push_back(static_cast<TokenId>(1000 + rng() % 7000));
    seqs.push_back(s);
  }
  ThreadPool pool(2);
  BertScratch scratch;
  for (MatmulPath path : {MatmulPath::kQuantized, MatmulPath::kBlas}) {
    std::vector<float> hidden;
    ASSERT_TRUE((*model)->forward(seqs, hidden, pool, scratch, path).ok());
    std::vector<float> batched = (*model)->pool_and_normalize(seqs, hidden);
    const int64_t e = (*model)->hparams().n_embd;
    double worst = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      std::vector<std::vector<TokenId>> one = {seqs[i]};
      ASSERT_TRUE((*model)->forward(one, hidden, pool, scratch, path).ok());
      std::vector<float> alone = (*model)->pool_and_normalize(one, hidden);
      worst = std::max(worst, max_abs_diff(batched.data() + i * e, alone));
    }
    EXPECT_LE(worst, 1e-5) << (path == MatmulPath::kBlas ? "blas" : "quantized");
    std::printf("  %s path: batch of 50 vs alone, max abs difference %.3g\n",
                path == MatmulPath::kBlas ? "blas" : "quantized", worst);
  }
}

TEST(BertModelTest, RejectsBadSequences) {
  QUIRE_REQUIRE_SHARED();
  auto file = gguf::GgufFile::open(test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf");
  ASSERT_TRUE(file.ok());
  auto model = BertModel::load(*file);
  ASSERT_TRUE(model.ok());
  ThreadPool pool(1);
  BertScratch scratch;
  std::vector<float> hidden;
  std::vector<std::vector<TokenId>> empty = {{}};
  EXPECT_EQ((*model)->forward(empty, hidden, pool, scratch).code(), StatusCode::kInvalidArgument);
  std::vector<std::vector<TokenId>> too_long = {std::vector<TokenId>(513, 101)};
  EXPECT_EQ((*model)->forward(too_long, hidden, pool, scratch).code(),
            StatusCode::kInvalidArgument);
  std::vector<std::vector<TokenId>> bad_id = {{101, 9000, 102}};
  Status s = (*model)->forward(bad_id, hidden, pool, scratch);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("9000"), std::string::npos);
}

TEST(BertModelTest, MissingTensorIsNamed) {
  QUIRE_REQUIRE_SHARED();
  // A decoder file is not a BERT: the loader names what it lacks.
  auto file = gguf::GgufFile::open(test::shared_dir() + "/conformance/models/llama-tiny-q8_0.gguf");
  ASSERT_TRUE(file.ok());
  auto model = BertModel::load(*file);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("position_embd"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace quire::engine
