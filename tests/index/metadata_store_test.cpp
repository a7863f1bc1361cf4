// MetadataStore (the SQL of the index) and ReaderPool (its read connections), on a real
// database.
#include "index/metadata_store.h"

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "index/migrations.h"
#include "index/reader_pool.h"
#include "index/sqlite_db.h"
#include "tests/index/store_test_support.h"
#include "tests/support/test_support.h"

namespace quire::index {
namespace {

using namespace test_util;  // NOLINT(google-build-using-namespace): tests/index helpers

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::open(tmp_.file("quire.db"));
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(db).value();
    ASSERT_TRUE(migrate(*db_).ok());
    meta_ = std::make_unique<MetadataStore>(*db_);
  }

  // Puts a document with chunks (vectors optional) in one transaction; returns its id.
  int64_t put(const std::string& path, const std::vector<std::string>& texts,
              const std::vector<std::vector<float>>& vectors,
              std::vector<int64_t>* removed = nullptr) {
    auto transaction = Transaction::begin(*db_);
    EXPECT_TRUE(transaction.ok());
    std::vector<int64_t> removed_ids;
    DocumentRecord doc = make_doc(path);
    doc.status = "indexed";
    auto id = meta_->replace_document(doc, removed_ids);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    const auto chunks = make_chunks(texts);
    for (size_t i = 0; i < chunks.size(); ++i) {
      auto chunk_id = meta_->insert_chunk(*id, chunks[i],
                                          vectors.empty() ? std::span<const float>() : vectors[i]);
      EXPECT_TRUE(chunk_id.ok()) << chunk_id.status().to_string();
    }
    EXPECT_TRUE(transaction->commit().ok());
    if (removed != nullptr) *removed = removed_ids;
    return *id;
  }

  test::TempDir tmp_;
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<MetadataStore> meta_;
};

TEST_F(MetadataStoreTest, TypedMetaRoundTripsAndRefusesGarbage) {
  auto generation = meta_->generation();
  ASSERT_TRUE(generation.ok());
  EXPECT_EQ(*generation, 0);  // migration 1 records it
  ASSERT_TRUE(meta_->set_generation(41).ok());
  EXPECT_EQ(*meta_->generation(), 41);
  ASSERT_TRUE(meta_->set_meta("generation", "4x").ok());
  EXPECT_EQ(meta_->generation().status().code(), StatusCode::kDataLoss);
  EXPECT_NE(meta_->generation().status().message().find("'4x', expected an integer"),
            std::string::npos)
      << meta_->generation().status().message();

  EXPECT_FALSE(meta_->index_kind()->has_value());
  ASSERT_TRUE(meta_->set_index_kind(VectorIndexKind::kHnsw).ok());
  EXPECT_EQ(**meta_->index_kind(), VectorIndexKind::kHnsw);
  ASSERT_TRUE(meta_->set_meta("index_kind", "ivf").ok());
  EXPECT_EQ(meta_->index_kind().status().code(), StatusCode::kDataLoss);

  EXPECT_FALSE(meta_->embedding_model()->has_value());
  ASSERT_TRUE(meta_->set_embedding_model(test_model()).ok());
  auto model = meta_->embedding_model();
  ASSERT_TRUE(model.ok() && model->has_value());
  EXPECT_EQ((*model)->name, "test-embed");
  EXPECT_EQ((*model)->dim, kDim);
  ASSERT_TRUE(db_->exec("DELETE FROM meta WHERE key = 'embedding_model_dim'").ok());
  EXPECT_EQ(meta_->embedding_model().status().code(), StatusCode::kDataLoss);
  ASSERT_TRUE(meta_->set_meta("embedding_model_dim", "0").ok());
  EXPECT_EQ(meta_->embedding_model().status().code(), StatusCode::kDataLoss);
}

TEST_F(MetadataStoreTest, ReplaceKeepsTheIdAndReportsTheRemovedVectors) {
  const auto vectors = make_vectors(1, 2);
  const int64_t id = put("/a", {"one", "two"}, vectors);
  const std::vector<int64_t> first = *meta_->vector_ids_of(id);
  ASSERT_EQ(first.size(), 2u);
  std::vector<int64_t> removed;
  EXPECT_EQ(put("/a", {"three"}, {}, &removed), id);
  EXPECT_EQ(removed, first);
  EXPECT_TRUE(meta_->vector_ids_of(id)->empty());
  EXPECT_EQ(*meta_->documents_without_vectors(), std::vector<int64_t>{id});
  EXPECT_EQ(*meta_->chunk_count(), 1);
}

TEST_F(MetadataStoreTest, EmbeddingsRoundTripAsBlobs) {
  const auto vectors = make_vectors(7, 3);
  const int64_t a = put("/a", {"x", "y"}, {vectors[0], vectors[1]});
  const int64_t b = put("/b", {"z"}, {vectors[2]});
  put("/c", {"text only"}, {});
  std::vector<std::vector<float>> seen;
  ASSERT_TRUE(meta_
                  ->for_each_embedding([&](int64_t, std::span<const std::byte> blob) -> Status {
                    std::vector<float> v(blob.size() / sizeof(float));
                    std::memcpy(v.data(), blob.data(), blob.size());
                    seen.push_back(v);
                    return ok_status();
                  })
                  .ok());
  EXPECT_EQ(seen, vectors);
  EXPECT_EQ(meta_->vector_ids()->size(), 3u);
  EXPECT_EQ(meta_->vector_ids_of_documents({b})->size(), 1u);
  EXPECT_EQ(meta_->vector_ids_of_documents({a, b, 999})->size(), 3u);
  EXPECT_TRUE(meta_->vector_ids_of_documents({})->empty());
  // A visitor's error stops the walk and comes back.
  int calls = 0;
  Status stopped = meta_->for_each_embedding([&](int64_t, std::span<const std::byte>) {
    ++calls;
    return data_loss_error("bad blob");
  });
  EXPECT_EQ(stopped.code(), StatusCode::kDataLoss);
  EXPECT_EQ(calls, 1);

  auto transaction = Transaction::begin(*db_);
  ASSERT_TRUE(transaction.ok());
  EXPECT_EQ(*meta_->drop_all_embeddings(), 3);
  ASSERT_TRUE(transaction->commit().ok());
  EXPECT_TRUE(meta_->vector_ids()->empty());
}

TEST_F(MetadataStoreTest, FullTextSearchRestrictedToDocuments) {
  const int64_t a = put("/a", {"river bank", "river delta"}, {});
  const int64_t b = put("/b", {"river river river"}, {});
  auto all = meta_->search_fts("\"river\"", 10);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(all->size(), 3u);
  std::vector<int64_t> only_a = {a};
  auto in_a = meta_->search_fts("\"river\"", 10, &only_a);
  ASSERT_TRUE(in_a.ok()) << in_a.status().to_string();
  ASSERT_EQ(in_a->size(), 2u);
  for (const SearchHit& hit : *in_a) {
    EXPECT_EQ(meta_->get_chunks({hit.chunk_id})->at(0).doc_id, a);
  }
  std::vector<int64_t> only_b = {b};
  EXPECT_EQ(meta_->search_fts("\"river\"", 1, &only_b)->size(), 1u);
  std::vector<int64_t> none;
  EXPECT_TRUE(meta_->search_fts("\"river\"", 10, &none)->empty());
  EXPECT_TRUE(meta_->search_fts("", 10)->empty());
  // A malformed expression is SQLite's error, not a crash (bm25_query.h never makes one).
  EXPECT_FALSE(meta_->search_fts("\"unterminated", 10).ok());
}

TEST_F(MetadataStoreTest, DeleteReportsWhetherARowWent) {
  const int64_t id = put("/a", {"one"}, {});
  auto transaction = Transaction::begin(*db_);
  ASSERT_TRUE(transaction.ok());
  EXPECT_TRUE(*meta_->delete_document(id));
  EXPECT_FALSE(*meta_->delete_document(id));
  ASSERT_TRUE(transaction->commit().ok());
  EXPECT_FALSE(meta_->get_document(id)->has_value());
  EXPECT_EQ(*meta_->chunk_count(), 0);  // cascaded
}

TEST_F(MetadataStoreTest, ReaderPoolLendsOneConnectionPerReader) {
  put("/a", {"one"}, {});
  ReaderPool pool(db_->path());
  EXPECT_EQ(pool.size(), 0u);
  {
    auto first = pool.acquire();
    auto second = pool.acquire();
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_NE(&first->db(), &second->db());
    EXPECT_EQ(pool.size(), 2u);
    // Both read the committed state.
    MetadataStore one(first->db());
    MetadataStore two(second->db());
    EXPECT_EQ(*one.chunk_count(), 1);
    EXPECT_EQ(*two.chunk_count(), 1);
    // A reader cannot write.
    Status write = first->db().exec("DELETE FROM documents");
    EXPECT_FALSE(write.ok());
    EXPECT_NE(write.message().find("readonly"), std::string::npos) << write.message();
  }
  // Returned connections are reused.
  { ASSERT_TRUE(pool.acquire().ok()); }
  EXPECT_EQ(pool.size(), 2u);
  // A reader sees what the writer commits after it was opened.
  auto lease = pool.acquire();
  ASSERT_TRUE(lease.ok());
  put("/b", {"two", "three"}, {});
  EXPECT_EQ(*MetadataStore(lease->db()).chunk_count(), 3);
  // Threads read through their own connections at the same time.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto mine = pool.acquire();
        if (mine.ok() && MetadataStore(mine->db()).chunk_count().value_or(-1) == 3) ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_LE(pool.size(), 5u);
}

TEST(ReaderPoolTest, NeedsAWalDatabase) {
  test::TempDir tmp;
  {
    auto db = SqliteDb::open(tmp.file("quire.db"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA journal_mode=DELETE").ok());
  }
  ReaderPool pool(tmp.file("quire.db"));
  auto lease = pool.acquire();
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(lease.status().message().find("WAL"), std::string::npos) << lease.status().message();
}

}  // namespace
}  // namespace quire::index
