// The cross-encoder stage: candidates come back ordered by the reranker's own scores of
// (query, chunk text), computed here directly; top_n limits the scored ones; deleted chunks drop.
#include "retrieve/rerank.h"

#include <gtest/gtest.h>

#include "tests/index/store_test_support.h"
#include "tests/support/test_support.h"

namespace quire::retrieve {
namespace {

TEST(CrossEncoderHook, OrdersByTheRerankerScores) {
  QUIRE_REQUIRE_SHARED();
  auto reranker =
      engine::open_reranker(test::shared_dir() + "/conformance/rerank/reranker-tiny-f32.gguf");
  ASSERT_TRUE(reranker.ok()) << reranker.status().to_string();
  test::TempDir tmp;
  auto store = index::Store::open(tmp.file("db"));
  ASSERT_TRUE(store.ok());
  const std::vector<std::string> texts = {
      "Vitamin D deficiency lowers bone density.", "The moon pulls the tides.",
      "Protein folding finds the lowest free energy.", "Cells divide by mitosis.",
      "Insulin regulates blood glucose."};
  auto id = (*store)->put_document(index::test_util::make_doc("/a.txt"),
                                   index::test_util::make_chunks(texts), {});
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  auto chunks = (*store)->chunks_of(*id);
  ASSERT_TRUE(chunks.ok());
  std::vector<index::SearchHit> fused;
  for (const auto& c : *chunks) fused.push_back({c.id, 1.0 / static_cast<double>(c.ord + 1)});
  fused.push_back({999999, 0.01});  // a chunk deleted since the search
  const std::string query = "what controls blood sugar";
  auto direct = (*reranker)->score(query, texts);
  ASSERT_TRUE(direct.ok());

  auto hook = cross_encoder_hook(**store, **reranker);
  auto out = hook(query, fused);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  ASSERT_EQ(out->size(), texts.size());  // the missing chunk is dropped
  for (size_t i = 0; i < out->size(); ++i) {
    const int64_t ord = static_cast<int64_t>(
        std::find_if(chunks->begin(), chunks->end(),
                     [&](const auto& c) { return c.id == (*out)[i].chunk_id; }) -
        chunks->begin());
    EXPECT_FLOAT_EQ(static_cast<float>((*out)[i].score), (*direct)[static_cast<size_t>(ord)]);
    if (i > 0) {
      EXPECT_GE((*out)[i - 1].score, (*out)[i].score);
    }
  }

  // top_n = 2: the first two are reranked, the rest follow in fused order below them.
  auto two = cross_encoder_hook(**store, **reranker, 2)(query, fused);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), fused.size());
  EXPECT_EQ((*two)[2].chunk_id, fused[2].chunk_id);
  EXPECT_EQ((*two)[4].chunk_id, fused[4].chunk_id);
  for (size_t i = 1; i < two->size(); ++i) {
    EXPECT_GT((*two)[i - 1].score, (*two)[i].score);
  }
}

}  // namespace
}  // namespace quire::retrieve
