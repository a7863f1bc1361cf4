// Search filters on Store::search_dense and Store::search_bm25, for flat and HNSW indexes.
#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "index/path_glob.h"
#include "index/store.h"
#include "index/vector_index.h"
#include "tests/index/store_test_support.h"
#include "tests/support/test_support.h"

namespace quire::index {
namespace {

using namespace test_util;  // NOLINT(google-build-using-namespace): tests/index helpers

constexpr size_t kPerDoc = 10;

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

struct Doc {
  int64_t id = 0;
  std::vector<int64_t> chunk_ids;
  std::vector<std::vector<float>> vectors;
};

// Four documents with vectors (10 chunks each) and one without:
//   /papers/a.pdf  /papers/sub/b.pdf  /notes/c.md  /notes/deep/er/d.md  /notes/plain.txt
// Every chunk holds "shared"; a's chunks hold it once, the others three times (so BM25 ranks a
// last and an unfiltered top k never reaches it).
class StoreFilterTest : public ::testing::TestWithParam<VectorIndexKind> {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.index_kind = GetParam();
    store_ = open_with_model(tmp_.path(), options);
    ASSERT_NE(store_, nullptr);
    a_ = put("/papers/a.pdf", "alpha", 1, 100);
    b_ = put("/papers/sub/b.pdf", "beta", 3, 200);
    c_ = put("/notes/c.md", "gamma", 3, 300);
    d_ = put("/notes/deep/er/d.md", "delta", 3, 400);
    auto plain = store_->put_document(make_doc("/notes/plain.txt"),
                                      make_chunks({"shared shared shared plain"}), {});
    ASSERT_TRUE(plain.ok()) << plain.status().to_string();
    plain_id_ = *plain;
  }

  Doc put(const std::string& path, const std::string& word, int shared, uint32_t seed) {
    Doc doc;
    std::vector<std::string> texts;
    for (size_t i = 0; i < kPerDoc; ++i) {
      std::string text;
      for (int s = 0; s < shared; ++s) text += "shared ";
      texts.push_back(text + word + std::to_string(i));
    }
    doc.vectors = make_vectors(seed, kPerDoc);
    auto id = store_->put_document(make_doc(path), make_chunks(texts), doc.vectors);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    doc.id = id.ok() ? *id : 0;
    auto chunks = store_->chunks_of(doc.id);
    EXPECT_TRUE(chunks.ok());
    for (const ChunkRecord& chunk : *chunks) doc.chunk_ids.push_back(chunk.id);
    return doc;
  }

  // The exact top k of `docs` for `query` (ids), by brute force.
  static std::vector<int64_t> brute_force(const std::vector<const Doc*>& docs,
                                          const std::vector<float>& query, size_t k) {
    std::vector<std::pair<double, int64_t>> scored;
    for (const Doc* doc : docs) {
      for (size_t i = 0; i < doc->vectors.size(); ++i) {
        scored.emplace_back(dot(query, doc->vectors[i]), doc->chunk_ids[i]);
      }
    }
    std::sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    std::vector<int64_t> ids;
    for (size_t i = 0; i < std::min(k, scored.size()); ++i) ids.push_back(scored[i].second);
    return ids;
  }

  std::vector<SearchHit> dense(const std::vector<float>& query, int64_t k,
                               const SearchFilter& filter) {
    auto hits = store_->search_dense(query, k, filter);
    EXPECT_TRUE(hits.ok()) << hits.status().to_string();
    return hits.ok() ? *hits : std::vector<SearchHit>{};
  }

  std::vector<SearchHit> bm25(const std::string& query, int64_t k, const SearchFilter& filter) {
    auto hits = store_->search_bm25(query, k, filter);
    EXPECT_TRUE(hits.ok()) << hits.status().to_string();
    return hits.ok() ? *hits : std::vector<SearchHit>{};
  }

  static std::set<int64_t> ids_of(std::initializer_list<const Doc*> docs) {
    std::set<int64_t> ids;
    for (const Doc* doc : docs) ids.insert(doc->chunk_ids.begin(), doc->chunk_ids.end());
    return ids;
  }

  static SearchFilter by_ids(std::vector<int64_t> ids) {
    SearchFilter filter;
    filter.document_ids = std::move(ids);
    return filter;
  }

  static SearchFilter by_globs(std::vector<std::string> globs) {
    SearchFilter filter;
    filter.path_globs = std::move(globs);
    return filter;
  }

  test::TempDir tmp_;
  std::unique_ptr<Store> store_;
  Doc a_, b_, c_, d_;
  int64_t plain_id_ = 0;
};

TEST_P(StoreFilterTest, EmptyFilterIsUnfiltered) {
  const std::vector<float> query = c_.vectors[4];
  auto plain = store_->search_dense(query, 7);
  ASSERT_TRUE(plain.ok());
  auto filtered = dense(query, 7, SearchFilter{});
  EXPECT_EQ(hit_ids(filtered), hit_ids(*plain));
  ASSERT_EQ(filtered.size(), 7u);
  EXPECT_EQ(filtered[0].chunk_id, c_.chunk_ids[4]);

  auto bm25_plain = store_->search_bm25("shared gamma3", 12);
  ASSERT_TRUE(bm25_plain.ok());
  EXPECT_EQ(hit_ids(bm25("shared gamma3", 12, SearchFilter{})), hit_ids(*bm25_plain));
}

TEST_P(StoreFilterTest, DenseByDocumentIdReturnsKFromTheAllowedSet) {
  // The query is one of c's vectors, so the unfiltered top hits start in c; restricted to a,
  // the search must still come back with k of a's chunks, the best of them first.
  const std::vector<float> query = c_.vectors[2];
  for (int64_t k : {1, 5, 10}) {
    auto hits = dense(query, k, by_ids({a_.id}));
    ASSERT_EQ(hits.size(), static_cast<size_t>(k)) << "k " << k;
    EXPECT_EQ(hit_ids(hits), brute_force({&a_}, query, static_cast<size_t>(k))) << "k " << k;
    for (size_t i = 1; i < hits.size(); ++i) EXPECT_LE(hits[i].score, hits[i - 1].score);
  }
  // More than the allowed set holds: all of it, no more.
  EXPECT_EQ(dense(query, 100, by_ids({a_.id})).size(), kPerDoc);
  // Two documents.
  auto two = dense(query, 15, by_ids({d_.id, a_.id}));
  ASSERT_EQ(two.size(), 15u);
  EXPECT_EQ(hit_ids(two), brute_force({&a_, &d_}, query, 15));
  // The exact vector of an allowed chunk comes first with score 1.
  auto exact = dense(a_.vectors[7], 3, by_ids({a_.id}));
  ASSERT_EQ(exact.size(), 3u);
  EXPECT_EQ(exact[0].chunk_id, a_.chunk_ids[7]);
  EXPECT_NEAR(exact[0].score, 1.0, kScoreTolerance);
}

TEST_P(StoreFilterTest, DenseByGlob) {
  const std::vector<float> query = c_.vectors[0];
  auto papers = dense(query, 100, by_globs({"/papers/**"}));
  EXPECT_EQ(papers.size(), 2 * kPerDoc);
  for (const SearchHit& hit : papers) EXPECT_TRUE(ids_of({&a_, &b_}).contains(hit.chunk_id));
  auto top = dense(query, 15, by_globs({"/papers/**"}));
  EXPECT_EQ(hit_ids(top), brute_force({&a_, &b_}, query, 15));
  // '*' stays within a directory: only a.
  auto shallow = dense(query, 100, by_globs({"/papers/*.pdf"}));
  ASSERT_EQ(shallow.size(), kPerDoc);
  for (const SearchHit& hit : shallow) EXPECT_TRUE(ids_of({&a_}).contains(hit.chunk_id));
  // "**/" also matches no directory: c and d; any of several globs may match.
  auto notes = dense(query, 100, by_globs({"/notes/**/*.md"}));
  EXPECT_EQ(notes.size(), 2 * kPerDoc);
  auto either = dense(query, 100, by_globs({"/papers/*.pdf", "/notes/deep/**"}));
  EXPECT_EQ(either.size(), 2 * kPerDoc);
  for (const SearchHit& hit : either) EXPECT_TRUE(ids_of({&a_, &d_}).contains(hit.chunk_id));
}

TEST_P(StoreFilterTest, IdsAndGlobsBothApply) {
  SearchFilter filter = by_globs({"/notes/**"});
  filter.document_ids = {a_.id, c_.id};
  auto hits = dense(a_.vectors[0], 100, filter);
  ASSERT_EQ(hits.size(), kPerDoc);
  for (const SearchHit& hit : hits) EXPECT_TRUE(ids_of({&c_}).contains(hit.chunk_id));
  auto text = bm25("shared", 100, filter);
  ASSERT_EQ(text.size(), kPerDoc);
  for (const SearchHit& hit : text) EXPECT_TRUE(ids_of({&c_}).contains(hit.chunk_id));
}

TEST_P(StoreFilterTest, NothingMatchesGivesNoHitsNotAnError) {
  for (const SearchFilter& filter :
       {by_globs({"/nowhere/**"}), by_ids({424242}), by_ids({plain_id_})}) {
    EXPECT_TRUE(dense(a_.vectors[0], 10, filter).empty());
  }
  EXPECT_TRUE(bm25("shared", 10, by_globs({"/nowhere/**"})).empty());
  EXPECT_TRUE(bm25("shared", 10, by_ids({424242})).empty());
  // The BM25-only document has text but no vectors.
  auto plain = bm25("shared", 10, by_ids({plain_id_}));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(store_->get_chunks({plain[0].chunk_id})->at(0).text, "shared shared shared plain");
}

TEST_P(StoreFilterTest, Bm25ReturnsKFromTheAllowedSet) {
  // Unfiltered, a's chunks (one "shared" each) rank below the 31 others.
  auto unfiltered = bm25("shared", 31, SearchFilter{});
  ASSERT_EQ(unfiltered.size(), 31u);
  for (const SearchHit& hit : unfiltered) EXPECT_FALSE(ids_of({&a_}).contains(hit.chunk_id));
  for (int64_t k : {1, 5, 10}) {
    auto hits = bm25("shared", k, by_ids({a_.id}));
    ASSERT_EQ(hits.size(), static_cast<size_t>(k));
    for (const SearchHit& hit : hits) EXPECT_TRUE(ids_of({&a_}).contains(hit.chunk_id));
  }
  auto glob = bm25("shared", 100, by_globs({"/papers/*.pdf"}));
  EXPECT_EQ(glob.size(), kPerDoc);
  auto notes = bm25("shared", 100, by_globs({"/notes/**"}));
  EXPECT_EQ(notes.size(), 2 * kPerDoc + 1);  // c, d and the plain document
  // Ranking within the allowed set is BM25's: alpha3 is the best of a for "alpha3".
  auto best = bm25("shared alpha3", 3, by_ids({a_.id}));
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best[0].chunk_id, a_.chunk_ids[3]);
  EXPECT_GT(best[0].score, best[1].score);
}

TEST_P(StoreFilterTest, BadFiltersAreInvalidArguments) {
  SearchFilter bad = by_globs({"/papers/**", ""});
  auto dense_bad = store_->search_dense(a_.vectors[0], 5, bad);
  EXPECT_EQ(dense_bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dense_bad.status().message().find("path glob 1"), std::string::npos)
      << dense_bad.status().message();
  EXPECT_EQ(store_->search_bm25("shared", 5, bad).status().code(), StatusCode::kInvalidArgument);
  bad.path_globs = {std::string(kMaxPathGlobBytes + 1, '*')};
  EXPECT_EQ(store_->search_bm25("shared", 5, bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreFilterTest, RemovedDocumentsLeaveTheFilteredResults) {
  // HNSW keeps b's vectors in the graph until the next rebuild; they must not come back.
  ASSERT_TRUE(store_->remove_document(b_.id).ok());
  auto papers = dense(b_.vectors[0], 100, by_globs({"/papers/**"}));
  ASSERT_EQ(papers.size(), kPerDoc);
  for (const SearchHit& hit : papers) EXPECT_TRUE(ids_of({&a_}).contains(hit.chunk_id));
  EXPECT_TRUE(dense(b_.vectors[0], 100, by_ids({b_.id})).empty());
  EXPECT_TRUE(bm25("beta1", 100, by_globs({"/papers/**"})).empty());
}

TEST_P(StoreFilterTest, FiltersSurviveAReopen) {
  ASSERT_TRUE(store_->flush().ok());
  store_.reset();
  store_ = open_store(tmp_.path());
  ASSERT_NE(store_, nullptr);
  auto hits = dense(c_.vectors[2], 5, by_ids({a_.id}));
  EXPECT_EQ(hit_ids(hits), brute_force({&a_}, c_.vectors[2], 5));
}

INSTANTIATE_TEST_SUITE_P(Kinds, StoreFilterTest,
                         ::testing::Values(VectorIndexKind::kFlat, VectorIndexKind::kHnsw),
                         [](const auto& info) {
                           return std::string(vector_index_kind_name(info.param));
                         });

// A filter that leaves a few allowed vectors far from the query would strand HNSW's graph walk
// (it stops before it reaches them); the search must still return the k best of them.
TEST(StoreFilterHnswTest, RestrictiveFilterFarFromTheQueryStillReturnsK) {
  test::TempDir tmp;
  auto store = open_with_model(tmp.path(), hnsw_options());
  ASSERT_NE(store, nullptr);
  const std::vector<float> query = random_unit_vector(1);
  // 600 vectors near the query, in 20 documents of 30.
  for (int doc = 0; doc < 20; ++doc) {
    std::vector<std::vector<float>> vectors;
    std::vector<std::string> texts;
    for (int i = 0; i < 30; ++i) {
      std::vector<float> v = random_unit_vector(static_cast<uint32_t>(1000 + doc * 30 + i));
      double norm = 0;
      for (size_t j = 0; j < v.size(); ++j) {
        v[j] = query[j] * 3.0f + v[j];
        norm += static_cast<double>(v[j]) * v[j];
      }
      for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
      vectors.push_back(v);
      texts.push_back("near" + std::to_string(i));
    }
    ASSERT_TRUE(
        store->put_document(make_doc("/near/" + std::to_string(doc)), make_chunks(texts), vectors)
            .ok());
  }
  // 12 vectors pointing away from it.
  std::vector<std::vector<float>> far;
  std::vector<std::string> texts;
  for (int i = 0; i < 12; ++i) {
    std::vector<float> v = random_unit_vector(static_cast<uint32_t>(9000 + i));
    double norm = 0;
    for (size_t j = 0; j < v.size(); ++j) {
      v[j] = -query[j] * 3.0f + v[j];
      norm += static_cast<double>(v[j]) * v[j];
    }
    for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
    far.push_back(v);
    texts.push_back("far" + std::to_string(i));
  }
  auto far_id = store->put_document(make_doc("/far"), make_chunks(texts), far);
  ASSERT_TRUE(far_id.ok());
  auto far_chunks = *store->chunks_of(*far_id);

  SearchFilter filter;
  filter.path_globs = {"/far"};
  for (int64_t k : {1, 10, 12, 50}) {
    auto hits = store->search_dense(query, k, filter);
    ASSERT_TRUE(hits.ok()) << hits.status().to_string();
    ASSERT_EQ(hits->size(), static_cast<size_t>(std::min<int64_t>(k, 12))) << "k " << k;
    // Exactly the best ones, best first.
    std::vector<std::pair<double, int64_t>> expected;
    for (size_t i = 0; i < far.size(); ++i) {
      expected.emplace_back(dot(query, far[i]), far_chunks[i].id);
    }
    std::sort(expected.begin(), expected.end(), std::greater<>());
    for (size_t i = 0; i < hits->size(); ++i) {
      EXPECT_EQ((*hits)[i].chunk_id, expected[i].second) << "k " << k << " rank " << i;
      EXPECT_NEAR((*hits)[i].score, expected[i].first, kScoreTolerance);
    }
  }
}

// More allowed vectors than kHnswExactScanMax: the filtered graph walk answers, still with k hits
// from the allowed set and the exact vector first.
TEST(StoreFilterHnswTest, LargeAllowedSetWalksTheGraph) {
  test::TempDir tmp;
  auto store = open_with_model(tmp.path(), hnsw_options());
  ASSERT_NE(store, nullptr);
  const size_t per_doc = static_cast<size_t>(kHnswExactScanMax) + 300;
  std::vector<std::string> texts(per_doc, "big");
  auto a_vectors = make_vectors(20000, per_doc);
  auto a = store->put_document(make_doc("/big/a"), make_chunks(texts), a_vectors);
  auto b =
      store->put_document(make_doc("/big/b"), make_chunks(texts), make_vectors(40000, per_doc));
  ASSERT_TRUE(a.ok() && b.ok());
  std::set<int64_t> a_ids;
  auto a_chunks = *store->chunks_of(*a);
  for (const ChunkRecord& chunk : a_chunks) a_ids.insert(chunk.id);
  SearchFilter filter;
  filter.document_ids = {*a};
  for (size_t i : std::vector<size_t>{0, 700, per_doc - 1}) {
    auto hits = store->search_dense(a_vectors[i], 10, filter);
    ASSERT_TRUE(hits.ok()) << hits.status().to_string();
    ASSERT_EQ(hits->size(), 10u);
    EXPECT_EQ((*hits)[0].chunk_id, a_chunks[i].id);
    EXPECT_NEAR((*hits)[0].score, 1.0, kScoreTolerance);
    for (const SearchHit& hit : *hits) EXPECT_TRUE(a_ids.contains(hit.chunk_id));
  }
  auto wide = store->search_dense(a_vectors[3], 200, filter);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide->size(), 200u);
  for (const SearchHit& hit : *wide) EXPECT_TRUE(a_ids.contains(hit.chunk_id));
}

}  // namespace
}  // namespace quire::index
