// Rank fusion and retrieval metrics on hand-computed cases, and the BEIR loaders on SciFact.
#include <cmath>

#include <gtest/gtest.h>

#include "retrieve/eval.h"
#include "retrieve/fusion.h"
#include "tests/support/test_support.h"

namespace quire::retrieve {
namespace {

TEST(FusionTest, ReciprocalRankFusion) {
  using index::SearchHit;
  // Chunk 7 is 1st and 3rd; chunk 3 is 2nd in both; chunk 9 is 1st in one list only.
  std::vector<std::vector<SearchHit>> lists = {{{7, 0.9}, {3, 0.8}, {5, 0.1}},
                                               {{9, 12.0}, {3, 11.0}, {7, 10.0}}};
  auto fused = reciprocal_rank_fusion(lists, 10, 60.0);
  ASSERT_EQ(fused.size(), 4u);
  EXPECT_EQ(fused[0].chunk_id, 7);  // 1/61 + 1/63
  EXPECT_NEAR(fused[0].score, 1.0 / 61 + 1.0 / 63, 1e-12);
  EXPECT_EQ(fused[1].chunk_id, 3);  // 2/62
  EXPECT_EQ(fused[2].chunk_id, 9);  // 1/61
  EXPECT_EQ(fused[3].chunk_id, 5);
  EXPECT_EQ(reciprocal_rank_fusion(lists, 2).size(), 2u);
  EXPECT_TRUE(reciprocal_rank_fusion({}, 5).empty());
}

TEST(MetricsTest, HandComputedQuery) {
  MetricsAccumulator acc;
  // Relevant: a (gain 1), b (gain 1). Ranked: x a y b -> relevant at ranks 2 and 4.
  acc.add({{"a", 1}, {"b", 1}}, {"x", "a", "y", "b"});
  RetrievalMetrics m = acc.result();
  EXPECT_EQ(m.queries, 1);
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);
  const double idcg = 1 / std::log2(2.0) + 1 / std::log2(3.0);
  EXPECT_NEAR(m.ndcg_at_10, dcg / idcg, 1e-12);
  EXPECT_NEAR(m.recall_at_10, 1.0, 1e-12);
  EXPECT_NEAR(m.mrr_at_10, 0.5, 1e-12);
}

TEST(MetricsTest, AveragesAndCutoffs) {
  MetricsAccumulator acc;
  std::vector<std::string> ranked;
  for (int i = 0; i < 150; ++i) ranked.push_back(std::to_string(i) + "n");
  ranked[50] = "rel";  // rank 51: counts for recall@100 only
  acc.add({{"rel", 1}}, ranked);
  acc.add({{"top", 2}}, {"top", "top", "z"});  // duplicates ignored; perfect
  acc.add({}, {"whatever"});                   // no judged documents: skipped
  RetrievalMetrics m = acc.result();
  EXPECT_EQ(m.queries, 2);
  EXPECT_NEAR(m.ndcg_at_10, 0.5, 1e-12);
  EXPECT_NEAR(m.recall_at_10, 0.5, 1e-12);
  EXPECT_NEAR(m.recall_at_100, 1.0, 1e-12);
  EXPECT_NEAR(m.mrr_at_10, 0.5, 1e-12);
}

TEST(BeirTest, LoadsSciFact) {
  QUIRE_REQUIRE_SHARED();
  const std::string dir = test::shared_dir() + "/data/scifact";
  auto corpus = load_beir_corpus(dir);
  ASSERT_TRUE(corpus.ok()) << corpus.status().to_string();
  EXPECT_EQ(corpus->size(), 5183u);
  auto queries = load_beir_queries(dir);
  ASSERT_TRUE(queries.ok());
  EXPECT_EQ(queries->size(), 809u);
  auto qrels = load_beir_qrels(dir, "train");
  ASSERT_TRUE(qrels.ok()) << qrels.status().to_string();
  EXPECT_GT(qrels->size(), 800u);
  EXPECT_EQ(load_beir_qrels(dir, "nope").status().code(), StatusCode::kNotFound);
}

TEST(SearchTimingsAccumulator, MediansPerStageInMilliseconds) {
  SearchTimingsAccumulator acc;
  for (const auto& [med, zero] : acc.medians_ms()) EXPECT_EQ(zero, 0) << med;  // no queries
  // embed 1, 3, 2 ms -> median 2; dense 4 values -> mean of the middle two.
  const double embed[] = {1e-3, 3e-3, 2e-3, 10e-3};
  const double dense[] = {4e-3, 1e-3, 3e-3, 2e-3};
  for (int i = 0; i < 4; ++i) {
    SearchTimings t;
    t.embed_s = embed[i];
    t.dense_s = dense[i];
    t.total_s = 1.0;
    acc.add(t);
  }
  EXPECT_EQ(acc.queries(), 4);
  const auto medians = acc.medians_ms();
  ASSERT_EQ(medians.size(), 8u);
  const char* names[] = {"embed", "dense", "bm25", "fusion", "rerank", "mmr", "fetch", "total"};
  for (size_t i = 0; i < medians.size(); ++i) EXPECT_EQ(medians[i].first, names[i]);
  // Milliseconds from seconds: 1e-12 covers the rounding of the * 1e3.
  EXPECT_NEAR(medians[0].second, 2.5, 1e-12);  // (2 + 3) / 2
  EXPECT_NEAR(medians[1].second, 2.5, 1e-12);  // (2 + 3) / 2
  EXPECT_EQ(medians[2].second, 0);
  EXPECT_NEAR(medians[7].second, 1000, 1e-9);
}

}  // namespace
}  // namespace quire::retrieve
