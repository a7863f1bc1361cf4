// Answerer::ask (extractive mode) over a real store: search filters reach retrieval, packing,
// citations and the decline decision; MMR and the query-embedding cache are used; the per-stage
// timings are filled.
#include "generate/answer.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "index/store.h"
#include "retrieve/query_cache.h"
#include "tests/index/store_test_support.h"
#include "tests/support/fake_embedder.h"
#include "tests/support/test_support.h"

namespace quire::generate {
namespace {

constexpr int64_t kDim = 8;

// Two documents on rank fusion (only cormack.pdf names Cormack), one on cooking, and 30 filler
// documents so that BM25's idf is positive for the topic words (FTS5 clamps the idf of words in
// more than half the rows to ~0).
class AnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = index::Store::open(tmp_.file("db"));
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ASSERT_TRUE(
        store_->set_embedding_model(index::test_util::test_model("fake", kDim), false).ok());
    cormack_ = put("/papers/cormack.pdf",
                   "Reciprocal rank fusion combines ranked lists by summing inverse ranks. "
                   "Cormack proposed reciprocal rank fusion in 2009.");
    other_ = put("/papers/other.pdf",
                 "Reciprocal rank fusion merges dense and sparse rankings. The fusion constant "
                 "of sixty damps the top ranks.");
    cooking_ = put("/notes/cooking.md", "Bread needs flour, water, salt and patience.");
    for (int i = 0; i < 30; ++i) {
      put("/filler/" + std::to_string(i) + ".txt",
          "Filler page " + std::to_string(i) + " about gardens, weather and trains.");
    }
  }

  int64_t put(const std::string& path, const std::string& text) {
    const std::vector<float> v =
        test::FakeEmbedder(kDim).embed(std::vector<std::string>{text}).value()[0];
    auto id = store_->put_document(index::test_util::make_doc(path),
                                   index::test_util::make_chunks({text}), {v});
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    return *id;
  }

  static AskOptions options() {
    AskOptions o;
    o.decline.min_evidence = 0.35;
    return o;
  }

  static std::set<int64_t> cited_docs(const Answer& a) {
    std::set<int64_t> out;
    for (const auto& c : a.citations) out.insert(c.doc_id);
    return out;
  }
  static std::set<int64_t> source_docs(const Answer& a) {
    std::set<int64_t> out;
    for (const auto& s : a.sources) out.insert(s.doc_id);
    return out;
  }

  test::TempDir tmp_;
  std::unique_ptr<index::Store> store_;
  test::FakeEmbedder embedder_{kDim};
  int64_t cormack_ = 0, other_ = 0, cooking_ = 0;
};

const std::string kQuestion = "How does reciprocal rank fusion combine ranked lists?";

TEST_F(AnswerTest, UnfilteredAnswerUsesBothFusionPapers) {
  Answerer answerer(*store_, &embedder_, nullptr, nullptr);
  auto answer = answerer.ask(kQuestion, options());
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  ASSERT_EQ(answer->mode, "extractive") << answer->decline_reason;
  EXPECT_TRUE(source_docs(*answer).count(cormack_));
  EXPECT_TRUE(source_docs(*answer).count(other_));
}

TEST_F(AnswerTest, FilteredOutDocumentNeverAppears) {
  Answerer answerer(*store_, &embedder_, nullptr, nullptr);
  for (auto mode :
       {retrieve::SearchMode::kHybrid, retrieve::SearchMode::kDense, retrieve::SearchMode::kBm25}) {
    SCOPED_TRACE(std::string(retrieve::search_mode_name(mode)));
    AskOptions o = options();
    o.mode = mode;
    o.filter.document_ids = {other_};
    auto by_id = answerer.ask(kQuestion, o);
    ASSERT_TRUE(by_id.ok()) << by_id.status().to_string();
    ASSERT_EQ(by_id->mode, "extractive") << by_id->decline_reason;
    EXPECT_EQ(source_docs(*by_id), (std::set<int64_t>{other_}));
    EXPECT_EQ(cited_docs(*by_id), (std::set<int64_t>{other_}));
    for (const auto& c : by_id->citations) EXPECT_EQ(c.path, "/papers/other.pdf");

    o.filter = {};
    o.filter.path_globs = {"/papers/c*.pdf"};
    auto by_path = answerer.ask(kQuestion, o);
    ASSERT_TRUE(by_path.ok());
    ASSERT_EQ(by_path->mode, "extractive") << by_path->decline_reason;
    EXPECT_EQ(source_docs(*by_path), (std::set<int64_t>{cormack_}));
    EXPECT_EQ(cited_docs(*by_path), (std::set<int64_t>{cormack_}));
  }
}

TEST_F(AnswerTest, DeclineLooksAtTheFilteredDocumentsOnly) {
  Answerer answerer(*store_, &embedder_, nullptr, nullptr);
  const std::string question = "What did Cormack propose?";
  // The whole index names Cormack: answered.
  auto all = answerer.ask(question, options());
  ASSERT_TRUE(all.ok());
  EXPECT_NE(all->mode, "declined") << all->decline_reason;
  // Only other.pdf: it never mentions Cormack, so the sources do not answer.
  AskOptions o = options();
  o.filter.document_ids = {other_};
  auto filtered = answerer.ask(question, o);
  ASSERT_TRUE(filtered.ok());
  EXPECT_EQ(filtered->mode, "declined");
  EXPECT_NE(filtered->decline_reason.find("never mention 'Cormack'"), std::string::npos)
      << filtered->decline_reason;
  EXPECT_TRUE(filtered->citations.empty());
  for (const auto& s : filtered->sources) EXPECT_EQ(s.doc_id, other_);
  // Weak evidence is measured over the filtered set too: the cooking note has no word of the
  // fusion question (evidence 0).
  o.filter.document_ids = {cooking_};
  auto cooking = answerer.ask(kQuestion, o);
  ASSERT_TRUE(cooking.ok());
  EXPECT_EQ(cooking->mode, "declined");
  EXPECT_NE(cooking->decline_reason.find("lexical evidence 0.00"), std::string::npos)
      << cooking->decline_reason;
  for (const auto& s : cooking->sources) EXPECT_EQ(s.doc_id, cooking_);
}

TEST_F(AnswerTest, MmrAndStageTimings) {
  Answerer answerer(*store_, &embedder_, nullptr, nullptr);
  AskOptions o = options();
  o.mmr_lambda = 0.5;
  o.filter.path_globs = {"/papers/**"};
  auto answer = answerer.ask(kQuestion, o);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  ASSERT_EQ(answer->mode, "extractive") << answer->decline_reason;
  EXPECT_EQ(source_docs(*answer), (std::set<int64_t>{cormack_, other_}));
  const AnswerTimings& t = answer->timings;
  for (double s : {t.embed_s, t.dense_s, t.bm25_s, t.fusion_s, t.rerank_s, t.mmr_s, t.retrieve_s,
                   t.decline_s, t.pack_s, t.prefill_s, t.decode_s, t.total_s}) {
    EXPECT_GE(s, 0);
  }
  EXPECT_GT(t.embed_s, 0);
  EXPECT_GT(t.dense_s, 0);
  EXPECT_GT(t.bm25_s, 0);
  EXPECT_GT(t.mmr_s, 0);
  EXPECT_GT(t.pack_s, 0);
  EXPECT_EQ(t.rerank_s, 0);
  EXPECT_EQ(t.prefill_s, 0);  // extractive: no decoder
  EXPECT_GE(t.retrieve_s, t.embed_s + t.dense_s + t.bm25_s + t.fusion_s + t.mmr_s);
  EXPECT_GE(t.total_s, t.retrieve_s + t.decline_s + t.pack_s);
}

TEST_F(AnswerTest, QueryEmbeddingComputedOncePerQuestion) {
  auto cache = std::make_shared<retrieve::QueryEmbeddingCache>(16);
  Answerer first(*store_, &embedder_, nullptr, nullptr, cache);
  auto a1 = first.ask(kQuestion, options());
  ASSERT_TRUE(a1.ok());
  EXPECT_FALSE(a1->timings.embed_cached);
  auto a2 = first.ask(kQuestion, options());
  ASSERT_TRUE(a2.ok());
  EXPECT_TRUE(a2->timings.embed_cached);
  // A second Answerer sharing the cache reuses the embedding as well.
  Answerer second(*store_, &embedder_, nullptr, nullptr, cache);
  auto a3 = second.ask(kQuestion, options());
  ASSERT_TRUE(a3.ok());
  EXPECT_TRUE(a3->timings.embed_cached);
  EXPECT_EQ(cache->stats().misses, 1);
  EXPECT_EQ(cache->stats().hits, 2);
  EXPECT_EQ(&first.query_cache(), cache.get());
  ASSERT_EQ(a1->sources.size(), a3->sources.size());
  for (size_t i = 0; i < a1->sources.size(); ++i) {
    EXPECT_EQ(a1->sources[i].chunk_ids, a3->sources[i].chunk_ids);
  }
  // Without a cache given, each Answerer has its own.
  Answerer own(*store_, &embedder_, nullptr, nullptr);
  ASSERT_TRUE(own.ask(kQuestion, options()).ok());
  ASSERT_TRUE(own.ask(kQuestion, options()).ok());
  EXPECT_EQ(own.query_cache().stats().hits, 1);
}

TEST_F(AnswerTest, BadMmrLambdaIsInvalidArgument) {
  Answerer answerer(*store_, &embedder_, nullptr, nullptr);
  AskOptions o = options();
  o.mmr_lambda = -0.5;
  auto answer = answerer.ask(kQuestion, o);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quire::generate
