// The Retriever as the composition of its stages, on a real SQLite + FAISS store with
// hand-built vectors (FakeEmbedder): filters honoured by hybrid, dense and BM25 search, RRF
// weights, MMR, the query-embedding cache, the rerank hook and the stage timings.
#include "retrieve/retriever.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "index/store.h"
#include "retrieve/fusion.h"
#include "retrieve/query_cache.h"
#include "tests/index/store_test_support.h"
#include "tests/support/fake_embedder.h"
#include "tests/support/test_support.h"

namespace quire::retrieve {
namespace {

using test::unit;

constexpr int64_t kDim = 4;
const std::string kQuery = "retrieval fusion";

std::vector<int64_t> ids(const std::vector<index::SearchHit>& hits) {
  std::vector<int64_t> out;
  for (const auto& h : hits) out.push_back(h.chunk_id);
  return out;
}

// Three documents:
//   /papers/a.pdf     a0 "retrieval fusion alpha" ~ e1, a1 its near-duplicate ~ e1
//   /papers/b.pdf     b0 "retrieval beta" = e2
//   /notes/c.md       c0 "fusion fusion gamma retrieval" = e3, c1 "unrelated words" = e4
// The query's embedding leans to e1 (a's chunks rank first by dense search).
class RetrieverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = index::Store::open(tmp_.file("db"));
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ASSERT_TRUE(
        store_->set_embedding_model(index::test_util::test_model("fake", kDim), false).ok());
    a_ = put("/papers/a.pdf", {"retrieval fusion alpha", "retrieval fusion alpha again"},
             {unit({1, 0, 0, 0}), unit({1, 0.05f, 0, 0})});
    b_ = put("/papers/b.pdf", {"retrieval beta"}, {unit({0, 1, 0, 0})});
    c_ = put("/notes/c.md", {"fusion fusion gamma retrieval", "unrelated words"},
             {unit({0, 0, 1, 0}), unit({0, 0, 0, 1})});
    embedder_.set(kQuery, unit({1, 0.3f, 0.2f, 0.1f}));
  }

  int64_t put(const std::string& path, const std::vector<std::string>& texts,
              const std::vector<std::vector<float>>& vectors) {
    auto id = store_->put_document(index::test_util::make_doc(path),
                                   index::test_util::make_chunks(texts), vectors);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    auto cs = store_->chunks_of(*id);
    EXPECT_TRUE(cs.ok());
    for (const auto& c : *cs) doc_of_chunk_[c.id] = *id;
    return *id;
  }

  std::set<int64_t> docs_of(const std::vector<SearchResult>& results) {
    std::set<int64_t> out;
    for (const auto& r : results) {
      EXPECT_EQ(r.chunk.doc_id, r.document.id);
      out.insert(r.document.id);
    }
    return out;
  }

  test::TempDir tmp_;
  std::unique_ptr<index::Store> store_;
  test::FakeEmbedder embedder_{kDim};
  int64_t a_ = 0, b_ = 0, c_ = 0;
  std::map<int64_t, int64_t> doc_of_chunk_;
};

TEST_F(RetrieverTest, UnfilteredHybridSeesEveryDocument) {
  Retriever retriever(*store_, &embedder_);
  EXPECT_EQ(retriever.effective_mode(SearchMode::kHybrid), SearchMode::kHybrid);
  SearchOptions options;
  auto results = retriever.search(kQuery, options);
  ASSERT_TRUE(results.ok()) << results.status().to_string();
  EXPECT_EQ(docs_of(*results), (std::set<int64_t>{a_, b_, c_}));
}

TEST_F(RetrieverTest, FiltersAreHonouredInEveryMode) {
  Retriever retriever(*store_, &embedder_);
  for (SearchMode mode : {SearchMode::kHybrid, SearchMode::kDense, SearchMode::kBm25}) {
    SCOPED_TRACE(std::string(search_mode_name(mode)));
    SearchOptions options;
    options.mode = mode;
    options.filter.document_ids = {b_};
    auto only_b = retriever.search(kQuery, options);
    ASSERT_TRUE(only_b.ok()) << only_b.status().to_string();
    ASSERT_FALSE(only_b->empty());
    EXPECT_EQ(docs_of(*only_b), (std::set<int64_t>{b_}));

    options.filter = {};
    options.filter.path_globs = {"/notes/**"};
    auto notes = retriever.search(kQuery, options);
    ASSERT_TRUE(notes.ok());
    ASSERT_FALSE(notes->empty());
    EXPECT_EQ(docs_of(*notes), (std::set<int64_t>{c_}));

    // Both constraints: a document must pass each; a and c together by id, papers by path.
    options.filter.document_ids = {a_, c_};
    options.filter.path_globs = {"/papers/*.pdf"};
    auto both = retriever.search(kQuery, options);
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(docs_of(*both), (std::set<int64_t>{a_}));

    // search_ids honours it too.
    auto hits = retriever.search_ids(kQuery, options);
    ASSERT_TRUE(hits.ok());
    for (const auto& h : *hits) EXPECT_EQ(doc_of_chunk_[h.chunk_id], a_);
  }
}

TEST_F(RetrieverTest, FilterWithMmrAndBadGlob) {
  Retriever retriever(*store_, &embedder_);
  SearchOptions options;
  options.filter.path_globs = {"/papers/**"};
  options.mmr_lambda = 0.0;
  auto results = retriever.search(kQuery, options);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(docs_of(*results), (std::set<int64_t>{a_, b_}));
  options.filter.path_globs = {""};
  auto bad = retriever.search(kQuery, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RetrieverTest, WeightZeroIsTheOtherListAlone) {
  Retriever retriever(*store_, &embedder_);
  SearchOptions dense_only;
  dense_only.mode = SearchMode::kDense;
  auto dense = retriever.search_ids(kQuery, dense_only);
  ASSERT_TRUE(dense.ok());
  SearchOptions bm25_only;
  bm25_only.mode = SearchMode::kBm25;
  auto bm25 = retriever.search_ids(kQuery, bm25_only);
  ASSERT_TRUE(bm25.ok());

  SearchOptions no_bm25;
  no_bm25.bm25_weight = 0;
  SearchTimings t;
  auto fused = retriever.search_ids(kQuery, no_bm25, &t);
  ASSERT_TRUE(fused.ok());
  EXPECT_EQ(ids(*fused), ids(*dense));
  for (size_t i = 0; i < fused->size(); ++i) {
    EXPECT_NEAR((*fused)[i].score, 1.0 / (61 + static_cast<double>(i)), 1e-12);
  }
  EXPECT_EQ(t.bm25_s, 0);  // not searched at all

  const int64_t calls = embedder_.embed_calls();
  SearchOptions no_dense;
  no_dense.dense_weight = 0;
  auto lexical = retriever.search_ids(kQuery, no_dense, &t);
  ASSERT_TRUE(lexical.ok());
  EXPECT_EQ(ids(*lexical), ids(*bm25));
  EXPECT_EQ(embedder_.embed_calls(), calls);  // no query embedding needed
  EXPECT_EQ(t.embed_s, 0);
  EXPECT_EQ(t.dense_s, 0);
}

TEST_F(RetrieverTest, WeightsShiftTheFusedOrder) {
  // a0 is dense's first; c0 ("fusion fusion ... retrieval") is BM25's first. A heavy BM25 weight
  // puts c0 first, a heavy dense weight a0.
  Retriever retriever(*store_, &embedder_);
  SearchOptions bm25_only;
  bm25_only.mode = SearchMode::kBm25;
  auto bm25 = retriever.search_ids(kQuery, bm25_only);
  ASSERT_TRUE(bm25.ok());
  ASSERT_FALSE(bm25->empty());
  SearchOptions dense_only;
  dense_only.mode = SearchMode::kDense;
  auto dense = retriever.search_ids(kQuery, dense_only);
  ASSERT_TRUE(dense.ok());
  ASSERT_NE((*bm25)[0].chunk_id, (*dense)[0].chunk_id);

  SearchOptions lexical;
  lexical.bm25_weight = 10;
  auto l = retriever.search_ids(kQuery, lexical);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ((*l)[0].chunk_id, (*bm25)[0].chunk_id);
  SearchOptions semantic;
  semantic.dense_weight = 10;
  auto s = retriever.search_ids(kQuery, semantic);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0].chunk_id, (*dense)[0].chunk_id);
  // The same as fusing the two lists by hand.
  auto by_hand = weighted_reciprocal_rank_fusion({{&*dense, 10.0}, {&*bm25, 1.0}}, 10, 60.0);
  ASSERT_TRUE(by_hand.ok());
  EXPECT_EQ(ids(*s), ids(*by_hand));
}

TEST_F(RetrieverTest, MmrSplitsTheNearDuplicatePair) {
  Retriever retriever(*store_, &embedder_);
  SearchOptions plain;
  plain.mode = SearchMode::kDense;
  plain.k = 2;
  auto top = retriever.search(kQuery, plain);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 2u);
  // Without MMR the two near-identical chunks of a fill the top 2.
  EXPECT_EQ(top->at(0).document.id, a_);
  EXPECT_EQ(top->at(1).document.id, a_);

  SearchOptions diverse = plain;
  diverse.mmr_lambda = 0.5;
  SearchTimings t;
  auto picked = retriever.search(kQuery, diverse, &t);
  ASSERT_TRUE(picked.ok());
  ASSERT_EQ(picked->size(), 2u);
  EXPECT_EQ(picked->at(0).chunk.id, top->at(0).chunk.id);
  EXPECT_NE(picked->at(1).document.id, a_);
  EXPECT_GT(t.mmr_s, 0);

  // λ = 1 is the order without MMR.
  SearchOptions relevance = plain;
  relevance.k = 5;
  auto five = retriever.search_ids(kQuery, relevance);
  relevance.mmr_lambda = 1.0;
  auto same = retriever.search_ids(kQuery, relevance);
  ASSERT_TRUE(five.ok() && same.ok());
  EXPECT_EQ(ids(*same), ids(*five));
}

TEST_F(RetrieverTest, QueryCacheEmbedsOncePerQuestion) {
  QueryEmbeddingCache cache(4);
  Retriever retriever(*store_, &embedder_, &cache);
  const int64_t calls = embedder_.embed_calls();
  SearchTimings first, second;
  auto r1 = retriever.search(kQuery, SearchOptions{}, &first);
  auto r2 = retriever.search(kQuery, SearchOptions{}, &second);
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(embedder_.embed_calls(), calls + 1);
  EXPECT_FALSE(first.embed_cached);
  EXPECT_TRUE(second.embed_cached);
  EXPECT_EQ(cache.stats().hits, 1);
  EXPECT_EQ(cache.stats().misses, 1);
  ASSERT_EQ(r1->size(), r2->size());
  for (size_t i = 0; i < r1->size(); ++i) EXPECT_EQ((*r1)[i].chunk.id, (*r2)[i].chunk.id);
}

TEST_F(RetrieverTest, StageTimingsArePresentAndNonNegative) {
  Retriever retriever(*store_, &embedder_);
  SearchOptions options;
  options.mmr_lambda = 0.7;
  SearchTimings t;
  t.embed_s = t.dense_s = t.bm25_s = t.fusion_s = t.rerank_s = t.mmr_s = -1;  // overwritten
  auto results = retriever.search(kQuery, options, &t);
  ASSERT_TRUE(results.ok());
  for (double s :
       {t.embed_s, t.dense_s, t.bm25_s, t.fusion_s, t.rerank_s, t.mmr_s, t.fetch_s, t.total_s}) {
    EXPECT_GE(s, 0);
  }
  // The stages that ran took measurable time on a nanosecond clock; the rerank stage did not
  // run.
  EXPECT_GT(t.embed_s, 0);
  EXPECT_GT(t.dense_s, 0);
  EXPECT_GT(t.bm25_s, 0);
  EXPECT_GT(t.fusion_s, 0);
  EXPECT_GT(t.mmr_s, 0);
  EXPECT_GT(t.fetch_s, 0);
  EXPECT_EQ(t.rerank_s, 0);
  EXPECT_GE(t.total_s, t.embed_s + t.dense_s + t.bm25_s + t.fusion_s + t.mmr_s + t.fetch_s);

  // BM25 mode: no embedding, no dense search.
  options.mode = SearchMode::kBm25;
  options.mmr_lambda.reset();
  auto bm25 = retriever.search_ids(kQuery, options, &t);
  ASSERT_TRUE(bm25.ok());
  EXPECT_EQ(t.embed_s, 0);
  EXPECT_EQ(t.dense_s, 0);
  EXPECT_EQ(t.mmr_s, 0);
  EXPECT_GT(t.bm25_s, 0);
}

TEST_F(RetrieverTest, RerankHookRunsBetweenFusionAndMmr) {
  Retriever retriever(*store_, &embedder_);
  SearchOptions options;
  auto fused = retriever.search_ids(kQuery, options);
  ASSERT_TRUE(fused.ok());
  ASSERT_GE(fused->size(), 3u);
  // The hook sees rerank_top_n = 3 candidates, more than the k = 2 results.
  size_t seen = 0;
  options.k = 2;
  options.rerank_top_n = 3;
  options.rerank = [&](const std::string& query, const std::vector<index::SearchHit>& candidates)
      -> Result<std::vector<index::SearchHit>> {
    EXPECT_EQ(query, kQuery);
    seen = candidates.size();
    std::vector<index::SearchHit> out(candidates.rbegin(), candidates.rend());
    out.push_back({999999, 5.0});  // not a candidate: ignored
    return out;
  };
  SearchTimings t;
  auto reranked = retriever.search_ids(kQuery, options, &t);
  ASSERT_TRUE(reranked.ok()) << reranked.status().to_string();
  EXPECT_EQ(seen, 3u);
  std::vector<int64_t> expected = {(*fused)[2].chunk_id, (*fused)[1].chunk_id};
  EXPECT_EQ(ids(*reranked), expected);
  EXPECT_GT(t.rerank_s, 0);

  options.rerank = [](const std::string&, const std::vector<index::SearchHit>&)
      -> Result<std::vector<index::SearchHit>> { return unavailable_error("reranker down"); };
  auto failed = retriever.search_ids(kQuery, options);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(failed.status().message().find("rerank"), std::string::npos);
}

TEST_F(RetrieverTest, BadOptionsAreInvalidArgument) {
  Retriever retriever(*store_, &embedder_);
  auto check = [&](const SearchOptions& options, const std::string& needle) {
    auto r = retriever.search(kQuery, options);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << needle;
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  SearchOptions o;
  o.mmr_lambda = 1.5;
  check(o, "mmr_lambda is 1.5");
  o = {};
  o.dense_weight = o.bm25_weight = 0;
  check(o, "both 0");
  o = {};
  o.bm25_weight = -1;
  check(o, "bm25_weight is -1");
  o = {};
  o.rrf_k = -3;
  check(o, "rrf_k");
  o = {};
  o.mmr_pool = -1;
  check(o, "mmr_pool");
}

TEST_F(RetrieverTest, WithoutEmbedderHybridFallsBackToBm25) {
  Retriever retriever(*store_, nullptr);
  EXPECT_EQ(retriever.effective_mode(SearchMode::kHybrid), SearchMode::kBm25);
  SearchOptions options;
  options.filter.document_ids = {c_};
  auto results = retriever.search(kQuery, options);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(docs_of(*results), (std::set<int64_t>{c_}));
  options.mode = SearchMode::kDense;
  auto dense = retriever.search(kQuery, options);
  ASSERT_FALSE(dense.ok());
  EXPECT_EQ(dense.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace quire::retrieve
