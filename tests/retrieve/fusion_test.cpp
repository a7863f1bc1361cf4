// Reciprocal rank fusion with per-list weights: hand-computed scores, weight 0 removing a
// list's influence, tie-breaking, and bad input.
#include "retrieve/fusion.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace quire::retrieve {
namespace {

using index::SearchHit;

std::vector<int64_t> ids(const std::vector<SearchHit>& hits) {
  std::vector<int64_t> out;
  for (const SearchHit& h : hits) out.push_back(h.chunk_id);
  return out;
}

// Scores are sums of two or three terms 1/(k + r); 1e-12 is far below the gaps between them
// and far above double rounding of such sums (~1e-17).
constexpr double kTolerance = 1e-12;

// dense: 1, 2, 3    bm25: 3, 4, 1    (scores in the lists do not matter to RRF)
const std::vector<SearchHit> kDense = {{1, 0.9}, {2, 0.8}, {3, 0.7}};
const std::vector<SearchHit> kBm25 = {{3, 20.0}, {4, 15.0}, {1, 3.0}};

TEST(WeightedRrf, HandComputedScores) {
  // rrf_k = 10, dense weight 2, bm25 weight 1:
  //   1: 2/11 + 1/13 = 0.2587413 ; 2: 2/12 = 0.1666667 ; 3: 2/13 + 1/11 = 0.2447552 ;
  //   4: 1/12 = 0.0833333
  auto fused = weighted_reciprocal_rank_fusion({{&kDense, 2.0}, {&kBm25, 1.0}}, 10, 10.0);
  ASSERT_TRUE(fused.ok()) << fused.status().to_string();
  ASSERT_EQ(ids(*fused), (std::vector<int64_t>{1, 3, 2, 4}));
  EXPECT_NEAR((*fused)[0].score, 2.0 / 11 + 1.0 / 13, kTolerance);
  EXPECT_NEAR((*fused)[1].score, 2.0 / 13 + 1.0 / 11, kTolerance);
  EXPECT_NEAR((*fused)[2].score, 2.0 / 12, kTolerance);
  EXPECT_NEAR((*fused)[3].score, 1.0 / 12, kTolerance);
}

TEST(WeightedRrf, WeightsFlipTheOrder) {
  // bm25 weight 3: 3 = 1/13 + 3/11 beats 1 = 1/11 + 3/13.
  auto fused = weighted_reciprocal_rank_fusion({{&kDense, 1.0}, {&kBm25, 3.0}}, 2, 10.0);
  ASSERT_TRUE(fused.ok());
  EXPECT_EQ(ids(*fused), (std::vector<int64_t>{3, 1}));
  EXPECT_NEAR((*fused)[0].score, 1.0 / 13 + 3.0 / 11, kTolerance);
}

TEST(WeightedRrf, WeightZeroRemovesTheList) {
  // With bm25 weight 0 the result is the dense list fused alone: 4 (only in BM25) is absent and
  // the scores are dense's RRF terms.
  auto fused = weighted_reciprocal_rank_fusion({{&kDense, 1.0}, {&kBm25, 0.0}}, 10, 60.0);
  ASSERT_TRUE(fused.ok());
  auto alone = weighted_reciprocal_rank_fusion({{&kDense, 1.0}}, 10, 60.0);
  ASSERT_TRUE(alone.ok());
  ASSERT_EQ(ids(*fused), (std::vector<int64_t>{1, 2, 3}));
  ASSERT_EQ(ids(*fused), ids(*alone));
  for (size_t i = 0; i < fused->size(); ++i) {
    EXPECT_DOUBLE_EQ((*fused)[i].score, (*alone)[i].score);
    EXPECT_NEAR((*fused)[i].score, 1.0 / (61 + static_cast<double>(i)), kTolerance);
  }
  // And the other way round.
  auto bm25_only = weighted_reciprocal_rank_fusion({{&kDense, 0.0}, {&kBm25, 1.0}}, 10, 60.0);
  ASSERT_TRUE(bm25_only.ok());
  EXPECT_EQ(ids(*bm25_only), (std::vector<int64_t>{3, 4, 1}));
}

TEST(WeightedRrf, UnitWeightsEqualThePlainFunction) {
  auto weighted = weighted_reciprocal_rank_fusion({{&kDense, 1.0}, {&kBm25, 1.0}}, 3, 60.0);
  ASSERT_TRUE(weighted.ok());
  const auto plain = reciprocal_rank_fusion({kDense, kBm25}, 3, 60.0);
  ASSERT_EQ(ids(*weighted), ids(plain));
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_DOUBLE_EQ((*weighted)[i].score, plain[i].score);
  }
  // Plain RRF, hand-computed: 1 = 1/61 + 1/63, 3 = 1/63 + 1/61 tie -> smaller id first.
  EXPECT_EQ(ids(plain), (std::vector<int64_t>{1, 3, 2}));
  EXPECT_NEAR(plain[0].score, 1.0 / 61 + 1.0 / 63, kTolerance);
}

TEST(WeightedRrf, TopKAndEmptyInput) {
  auto two = weighted_reciprocal_rank_fusion({{&kDense, 1.0}, {&kBm25, 1.0}}, 2, 60.0);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  auto none = weighted_reciprocal_rank_fusion({}, 5, 60.0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto zero_k = weighted_reciprocal_rank_fusion({{&kDense, 1.0}}, 0, 60.0);
  ASSERT_TRUE(zero_k.ok());
  EXPECT_TRUE(zero_k->empty());
}

TEST(WeightedRrf, BadInputIsInvalidArgument) {
  auto negative = weighted_reciprocal_rank_fusion({{&kDense, -1.0}}, 5, 60.0);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(negative.status().message().find("weight -1"), std::string::npos)
      << negative.status().message();
  auto nan = weighted_reciprocal_rank_fusion({{&kDense, std::nan("")}}, 5, 60.0);
  EXPECT_EQ(nan.status().code(), StatusCode::kInvalidArgument);
  auto bad_k = weighted_reciprocal_rank_fusion({{&kDense, 1.0}}, 5, -1.0);
  EXPECT_EQ(bad_k.status().code(), StatusCode::kInvalidArgument);
  auto null_list = weighted_reciprocal_rank_fusion({{nullptr, 1.0}}, 5, 60.0);
  EXPECT_EQ(null_list.status().code(), StatusCode::kInvalidArgument);
  auto negative_top = weighted_reciprocal_rank_fusion({{&kDense, 1.0}}, -1, 60.0);
  EXPECT_EQ(negative_top.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quire::retrieve
