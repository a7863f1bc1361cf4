// The pipeline with a real embedder: the vectors it stores are embed() of the chunk texts (the
// chunker's ids go to embed_tokens, the texts are not tokenized again), n_tokens counts the
// text without special tokens, and progress reports outcomes as IndexOutcome values.
#include "ingest/pipeline.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/runtime/embedder.h"
#include "index/store.h"
#include "tests/support/test_support.h"

namespace quire::ingest {
namespace {

TEST(OutcomeName, EveryOutcomeHasItsWord) {
  EXPECT_STREQ(outcome_name(IndexOutcome::kIndexed), "indexed");
  EXPECT_STREQ(outcome_name(IndexOutcome::kUnchanged), "unchanged");
  EXPECT_STREQ(outcome_name(IndexOutcome::kFailed), "failed");
  EXPECT_STREQ(outcome_name(IndexOutcome::kRemoved), "removed");
}

TEST(IndexPipeline, StoredVectorsAreTheEmbeddingsOfTheChunkTexts) {
  QUIRE_REQUIRE_SHARED();
  engine::EmbedderOptions embedder_options;
  embedder_options.threads = 2;
  auto embedder = engine::open_embedder(
      quire::test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf", embedder_options);
  ASSERT_TRUE(embedder.ok()) << embedder.status().to_string();
  quire::test::TempDir dir;
  auto store = index::Store::open(dir.file("db"));
  ASSERT_TRUE(store.ok()) << store.status().to_string();

  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += "Sentence " + std::to_string(i) + " tells of retrieval, chunking and embeddings. ";
    if (i % 7 == 6) text += "\n\n";
  }
  std::vector<IndexProgress> reports;
  PipelineOptions options;
  options.chunker = ChunkerOptions{48, 8};
  options.on_progress = [&](const IndexProgress& p) { reports.push_back(p); };
  IndexPipeline pipeline(**store, embedder->get(), options);
  auto summary = pipeline.index_texts({{"doc-1", "A Title", text}});
  ASSERT_TRUE(summary.ok()) << summary.status().to_string();
  EXPECT_EQ(summary->indexed, 1);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].outcome, IndexOutcome::kIndexed);
  EXPECT_EQ(reports[0].error, "");

  auto doc = (*store)->find_document("doc-1");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  auto chunks = (*store)->chunks_of((*doc)->id);
  ASSERT_TRUE(chunks.ok());
  ASSERT_GT(chunks->size(), 4u);
  EXPECT_EQ(*(*store)->vector_count(), static_cast<int64_t>(chunks->size()));
  const engine::Tokenizer& tokenizer = (*embedder)->tokenizer();
  for (const index::ChunkRecord& c : *chunks) {
    SCOPED_TRACE("chunk " + std::to_string(c.ord));
    EXPECT_EQ(c.n_tokens, static_cast<int64_t>(tokenizer.encode(c.text, false, false).size()));
    EXPECT_LE(c.n_tokens, 48);
    // embed() of the text finds its own chunk first, at inner product 1: the stored vector is
    // that embedding (float rounding of the flat index's dot product only).
    auto v = (*embedder)->embed(std::vector<std::string>{c.text});
    ASSERT_TRUE(v.ok());
    auto hits = (*store)->search_dense((*v)[0], 1);
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 1u);
    EXPECT_EQ((*hits)[0].chunk_id, c.id);
    EXPECT_NEAR((*hits)[0].score, 1.0, 1e-5);
  }

  reports.clear();
  auto again = pipeline.index_texts({{"doc-1", "A Title", text}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged, 1);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].outcome, IndexOutcome::kUnchanged);
}

}  // namespace
}  // namespace quire::ingest
