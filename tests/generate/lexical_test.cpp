// Query terms (stop words and question words out, light stemming) and the local BM25 over
// sentence units: its ranking, its normalization and its coverage.
#include "generate/lexical.h"

#include <gtest/gtest.h>

namespace quire::generate {
namespace {

TEST(Lexical, QueryTermsDropFunctionWordsAndStem) {
  const std::vector<std::string> terms = query_terms("What learning rates were used? Rates!");
  EXPECT_EQ(std::count(terms.begin(), terms.end(), "rate"), 1);  // stemmed and distinct
  EXPECT_EQ(std::count(terms.begin(), terms.end(), "what"), 0);
  EXPECT_EQ(std::count(terms.begin(), terms.end(), "were"), 0);
  EXPECT_NE(std::find(terms.begin(), terms.end(), "learn"), terms.end());
  // Digits and mixed words survive; case folds.
  EXPECT_EQ(text_terms("GPT-3 has 175B"), (std::vector<std::string>{"gpt", "3", "175b"}));
  EXPECT_TRUE(query_terms("what is the?").empty());
}

TEST(Lexical, Bm25RanksUnitsWithRareTermsFirst) {
  std::vector<std::vector<std::string>> units = {
      text_terms("the model uses attention and attention again"),
      text_terms("the warmup lasts four thousand steps"),
      text_terms("the model is trained with attention"),
  };
  const LocalBm25 bm25(units, query_terms("How many warmup steps does the model use?"));
  ASSERT_EQ(bm25.size(), 3u);
  EXPECT_GT(bm25.score(1), bm25.score(0));
  EXPECT_GT(bm25.score(1), bm25.score(2));
  // Scores are normalized by the query's idf mass: a unit holding every term once scores
  // about 1, and none more than a few.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GE(bm25.score(i), 0.0);
    EXPECT_LT(bm25.score(i), 3.0);
  }
  EXPECT_GT(bm25.coverage(1), bm25.coverage(2));
  EXPECT_LE(bm25.coverage(1), 1.0);
  const LocalBm25 none(units, query_terms("pasta?"));
  EXPECT_EQ(none.score(0), 0.0);
  EXPECT_EQ(none.coverage(0), 0.0);
}

}  // namespace
}  // namespace quire::generate
