// Maximal marginal relevance on hand-built vectors: λ = 1 is the relevance order, λ = 0 picks
// the most different chunks, a near-duplicate pair is split up, chunks without vectors compete
// on relevance alone; and the same through a real store's vectors (Store::get_vectors).
#include "retrieve/mmr.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "index/store.h"
#include "tests/index/store_test_support.h"
#include "tests/support/fake_embedder.h"
#include "tests/support/test_support.h"

namespace quire::retrieve {
namespace {

using index::ChunkVector;
using index::SearchHit;
using test::unit;

std::vector<int64_t> ids(const std::vector<SearchHit>& hits) {
  std::vector<int64_t> out;
  for (const SearchHit& h : hits) out.push_back(h.chunk_id);
  return out;
}

// A = e1, A2 a near-duplicate of A (cosine 0.9988), B = e2, C = e3: A, B and C are orthogonal.
const std::vector<float> kA = {1, 0, 0, 0};
const std::vector<float> kA2 = unit({1, 0.05f, 0, 0});
const std::vector<float> kB = {0, 1, 0, 0};
const std::vector<float> kC = {0, 0, 1, 0};
constexpr int64_t kIdA = 10, kIdA2 = 11, kIdB = 12, kIdC = 13, kIdNoVector = 14;

// Ranked by relevance: A, A2, B, C (scores 1.0, 0.9, 0.8, 0.7).
const std::vector<SearchHit> kRanked = {{kIdA, 1.0}, {kIdA2, 0.9}, {kIdB, 0.8}, {kIdC, 0.7}};
const std::vector<ChunkVector> kVectors = {{kIdA, kA}, {kIdA2, kA2}, {kIdB, kB}, {kIdC, kC}};

TEST(Mmr, LambdaOneIsTheRelevanceOrder) {
  auto picked = maximal_marginal_relevance(kRanked, kVectors, 1.0, 4);
  ASSERT_TRUE(picked.ok()) << picked.status().to_string();
  EXPECT_EQ(ids(*picked), ids(kRanked));
  // Scores are kept as they came.
  for (size_t i = 0; i < picked->size(); ++i) EXPECT_EQ((*picked)[i].score, kRanked[i].score);
}

TEST(Mmr, LambdaZeroPicksTheMostDifferent) {
  // A first (all tie at 0: the higher ranked wins); then B and C (similarity 0 to A) before the
  // near-duplicate A2 (similarity 0.9988).
  auto picked = maximal_marginal_relevance(kRanked, kVectors, 0.0, 4);
  ASSERT_TRUE(picked.ok());
  EXPECT_EQ(ids(*picked), (std::vector<int64_t>{kIdA, kIdB, kIdC, kIdA2}));
}

TEST(Mmr, NearDuplicateIsNotPickedSecond) {
  // λ = 0.5, rel = (score - 0.7) / 0.3: A 1, A2 2/3, B 1/3, C 0.
  //   step 2: A2 0.5 * 2/3 - 0.5 * 0.9988 = -0.166; B 0.5 * 1/3 = 0.167; C 0 -> B
  //   step 3: A2 -0.166; C 0 -> C
  auto picked = maximal_marginal_relevance(kRanked, kVectors, 0.5, 2);
  ASSERT_TRUE(picked.ok());
  EXPECT_EQ(ids(*picked), (std::vector<int64_t>{kIdA, kIdB}));
  auto all = maximal_marginal_relevance(kRanked, kVectors, 0.5, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ids(*all), (std::vector<int64_t>{kIdA, kIdB, kIdC, kIdA2}));
  // With a high λ relevance wins again: A2 follows A (0.9 * 2/3 - 0.1 * 0.9988 = 0.50 beats
  // B's 0.9 * 1/3 = 0.30).
  auto relevant = maximal_marginal_relevance(kRanked, kVectors, 0.9, 2);
  ASSERT_TRUE(relevant.ok());
  EXPECT_EQ(ids(*relevant), (std::vector<int64_t>{kIdA, kIdA2}));
}

TEST(Mmr, ChunksWithoutVectorsCompeteOnRelevanceAlone) {
  // The chunk without a vector (score 0.95, second by relevance) has similarity 0 to anything:
  // with λ = 0.5 it is picked right after A (0.5 * 0.833 beats B's 0.5 * 0.333), and it does
  // not make B or C look redundant.
  std::vector<SearchHit> ranked = {
      {kIdA, 1.0}, {kIdNoVector, 0.95}, {kIdA2, 0.9}, {kIdB, 0.8}, {kIdC, 0.7}};
  auto picked = maximal_marginal_relevance(ranked, kVectors, 0.5, 5);
  ASSERT_TRUE(picked.ok());
  EXPECT_EQ(ids(*picked), (std::vector<int64_t>{kIdA, kIdNoVector, kIdB, kIdC, kIdA2}));
  // With no vectors at all nothing is redundant: the relevance order for any λ.
  for (double lambda : {0.0, 0.3, 1.0}) {
    auto plain = maximal_marginal_relevance(ranked, {}, lambda, 5);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(ids(*plain), ids(ranked)) << "lambda " << lambda;
  }
}

TEST(Mmr, EdgeCases) {
  auto empty = maximal_marginal_relevance({}, kVectors, 0.5, 3);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto none = maximal_marginal_relevance(kRanked, kVectors, 0.5, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // Repeated ids count once; equal scores all have relevance 1.
  std::vector<SearchHit> repeated = {{kIdA, 0.5}, {kIdA, 0.5}, {kIdA2, 0.5}, {kIdB, 0.5}};
  auto once = maximal_marginal_relevance(repeated, kVectors, 0.5, 5);
  ASSERT_TRUE(once.ok());
  EXPECT_EQ(ids(*once), (std::vector<int64_t>{kIdA, kIdB, kIdA2}));
}

TEST(Mmr, BadInputIsInvalidArgument) {
  for (double lambda : {-0.1, 1.5, std::nan("")}) {
    auto bad = maximal_marginal_relevance(kRanked, kVectors, lambda, 3);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bad.status().message().find("[0, 1]"), std::string::npos);
  }
  EXPECT_EQ(maximal_marginal_relevance(kRanked, kVectors, 0.5, -1).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<ChunkVector> mixed = {{kIdA, kA}, {kIdB, {0, 1, 0}}};
  auto bad_dim = maximal_marginal_relevance(kRanked, mixed, 0.5, 3);
  ASSERT_FALSE(bad_dim.ok());
  EXPECT_NE(bad_dim.status().message().find("chunk 12 has 3 values, expected 4"), std::string::npos)
      << bad_dim.status().message();
}

TEST(MmrWithStoreVectors, ReadsTheStoredVectors) {
  test::TempDir dir;
  auto store = index::Store::open(dir.file("db"));
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  ASSERT_TRUE(
      (*store)->set_embedding_model(index::test_util::test_model("mmr-test", 4), false).ok());
  auto id = (*store)->put_document(index::test_util::make_doc("/a.txt"),
                                   index::test_util::make_chunks({"a", "a twin", "b", "c"}),
                                   {kA, kA2, kB, kC});
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  auto chunks = (*store)->chunks_of(*id);
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(chunks->size(), 4u);
  std::vector<SearchHit> ranked;
  for (size_t i = 0; i < 4; ++i) ranked.push_back({(*chunks)[i].id, 1.0 - 0.1 * i});
  auto picked = mmr_with_store_vectors(**store, ranked, 0.5, 2);
  ASSERT_TRUE(picked.ok()) << picked.status().to_string();
  EXPECT_EQ(ids(*picked), (std::vector<int64_t>{(*chunks)[0].id, (*chunks)[2].id}));
}

TEST(MmrWithStoreVectors, Bm25OnlyStoreKeepsTheRelevanceOrder) {
  test::TempDir dir;
  auto store = index::Store::open(dir.file("db"));
  ASSERT_TRUE(store.ok());
  auto id = (*store)->put_document(index::test_util::make_doc("/a.txt"),
                                   index::test_util::make_chunks({"x", "y", "z"}), {});
  ASSERT_TRUE(id.ok());
  auto chunks = (*store)->chunks_of(*id);
  ASSERT_TRUE(chunks.ok());
  std::vector<SearchHit> ranked;
  for (size_t i = 0; i < 3; ++i) ranked.push_back({(*chunks)[i].id, 3.0 - i});
  auto picked = mmr_with_store_vectors(**store, ranked, 0.0, 3);
  ASSERT_TRUE(picked.ok()) << picked.status().to_string();
  EXPECT_EQ(ids(*picked), ids(ranked));
}

}  // namespace
}  // namespace quire::retrieve
