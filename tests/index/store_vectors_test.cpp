// Store::get_vectors: the stored vectors of chunk ids, for flat and HNSW indexes.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "index/store.h"
#include "tests/index/store_test_support.h"
#include "tests/support/test_support.h"

namespace quire::index {
namespace {

using namespace test_util;  // NOLINT(google-build-using-namespace): tests/index helpers

class StoreVectorsTest : public ::testing::TestWithParam<VectorIndexKind> {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.index_kind = GetParam();
    store_ = open_with_model(tmp_.path(), options);
    ASSERT_NE(store_, nullptr);
    a_vectors_ = make_vectors(10, 3);
    b_vectors_ = make_vectors(20, 2);
    auto a = store_->put_document(make_doc("/a"), make_chunks({"a0", "a1", "a2"}), a_vectors_);
    auto b = store_->put_document(make_doc("/b"), make_chunks({"b0", "b1"}), b_vectors_);
    auto plain = store_->put_document(make_doc("/plain"), make_chunks({"no vector"}), {});
    ASSERT_TRUE(a.ok() && b.ok() && plain.ok());
    a_id_ = *a;
    b_id_ = *b;
    const std::vector<ChunkRecord> a_chunks = *store_->chunks_of(*a);
    const std::vector<ChunkRecord> b_chunks = *store_->chunks_of(*b);
    for (const ChunkRecord& chunk : a_chunks) a_chunks_.push_back(chunk.id);
    for (const ChunkRecord& chunk : b_chunks) b_chunks_.push_back(chunk.id);
    plain_chunk_ = store_->chunks_of(*plain)->at(0).id;
  }

  std::vector<ChunkVector> get(const std::vector<int64_t>& ids) {
    auto vectors = store_->get_vectors(ids);
    EXPECT_TRUE(vectors.ok()) << vectors.status().to_string();
    return vectors.ok() ? *vectors : std::vector<ChunkVector>{};
  }

  test::TempDir tmp_;
  std::unique_ptr<Store> store_;
  std::vector<std::vector<float>> a_vectors_, b_vectors_;
  int64_t a_id_ = 0, b_id_ = 0, plain_chunk_ = 0;
  std::vector<int64_t> a_chunks_, b_chunks_;
};

TEST_P(StoreVectorsTest, ReturnsTheStoredVectorsInTheOrderAsked) {
  auto got = get({b_chunks_[1], a_chunks_[0], a_chunks_[2]});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].chunk_id, b_chunks_[1]);
  EXPECT_EQ(got[0].vector, b_vectors_[1]);  // bit-exact: flat and HNSWFlat keep raw floats
  EXPECT_EQ(got[1].chunk_id, a_chunks_[0]);
  EXPECT_EQ(got[1].vector, a_vectors_[0]);
  EXPECT_EQ(got[2].chunk_id, a_chunks_[2]);
  EXPECT_EQ(got[2].vector, a_vectors_[2]);
  // Repeated ids come back repeated; no ids, no vectors.
  EXPECT_EQ(get({a_chunks_[1], a_chunks_[1]}).size(), 2u);
  EXPECT_TRUE(get({}).empty());
}

TEST_P(StoreVectorsTest, SkipsIdsWithoutAVector) {
  // Unknown ids, a BM25-only chunk and negative ids are skipped, like get_chunks.
  auto got = get({424242, a_chunks_[1], plain_chunk_, -1, b_chunks_[0]});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].chunk_id, a_chunks_[1]);
  EXPECT_EQ(got[0].vector, a_vectors_[1]);
  EXPECT_EQ(got[1].chunk_id, b_chunks_[0]);
}

TEST_P(StoreVectorsTest, RemovedAndReplacedChunksAreGone) {
  // HNSW keeps removed vectors in the graph until the next rebuild: they must not come back.
  ASSERT_TRUE(store_->remove_document(b_id_).ok());
  EXPECT_TRUE(get(b_chunks_).empty());
  auto replacement = make_vectors(30, 1);
  ASSERT_TRUE(store_->put_document(make_doc("/a"), make_chunks({"new"}), replacement).ok());
  EXPECT_TRUE(get(a_chunks_).empty());
  const int64_t new_chunk = store_->chunks_of(a_id_)->at(0).id;
  auto got = get({new_chunk});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].vector, replacement[0]);
}

TEST_P(StoreVectorsTest, SameAfterFlushAndReopen) {
  ASSERT_TRUE(store_->flush().ok());
  store_.reset();
  store_ = open_store(tmp_.path());
  ASSERT_NE(store_, nullptr);
  EXPECT_FALSE(store_->repair_report().repaired) << store_->repair_report().what;
  auto got = get(a_chunks_);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(got[i].vector, a_vectors_[i]);
}

TEST_P(StoreVectorsTest, ReembedDropsThem) {
  ASSERT_TRUE(store_->set_embedding_model(test_model("other-embed-2", 16), true).ok());
  EXPECT_TRUE(get(a_chunks_).empty());
  std::vector<std::vector<float>> wide = {random_unit_vector(5, 16)};
  ASSERT_TRUE(store_->put_document(make_doc("/w"), make_chunks({"wide"}), wide).ok());
  auto doc = store_->find_document("/w");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  auto got = get({store_->chunks_of((*doc)->id)->at(0).id});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].vector.size(), 16u);
  EXPECT_EQ(got[0].vector, wide[0]);
}

INSTANTIATE_TEST_SUITE_P(Kinds, StoreVectorsTest,
                         ::testing::Values(VectorIndexKind::kFlat, VectorIndexKind::kHnsw),
                         [](const auto& info) {
                           return std::string(vector_index_kind_name(info.param));
                         });

TEST(StoreVectorsBm25OnlyTest, IsAFailedPrecondition) {
  test::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto id = store->put_document(make_doc("/t"), make_chunks({"text only"}), {});
  ASSERT_TRUE(id.ok());
  auto got = store->get_vectors({store->chunks_of(*id)->at(0).id});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(got.status().message().find("no embedding model (BM25-only)"), std::string::npos)
      << got.status().message();
  // With a model recorded but no vector yet: an empty answer, not an error.
  ASSERT_TRUE(store->set_embedding_model(test_model(), false).ok());
  auto none = store->get_vectors({store->chunks_of(*id)->at(0).id});
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace quire::index
