// Readers searching while a writer puts documents: every read sees a whole state.
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "index/store.h"
#include "tests/index/store_test_support.h"
#include "tests/support/test_support.h"

namespace quire::index {
namespace {

using namespace test_util;  // NOLINT(google-build-using-namespace): tests/index helpers

constexpr int kChunksPerDoc = 3;
constexpr int kNewDocs = 30;
constexpr int kReaders = 4;
// Generous on a loaded 2-core machine; the test takes well under a second alone.
constexpr auto kTimeLimit = std::chrono::seconds(20);

std::vector<std::string> doc_texts(const std::string& word) {
  std::vector<std::string> texts;
  for (int i = 0; i < kChunksPerDoc; ++i) texts.push_back(word + " part" + std::to_string(i));
  return texts;
}

// The writer adds documents of 3 chunks and, between them, replaces "/hot" with a new version of
// 3 chunks, flushing now and then (two more documents are there from the start). A torn state would
// show in a reader as a "/hot" with 0 or 6 chunks (BM25 or dense), a chunk or vector count that is
// not a multiple of 3, a dense hit that BM25's snapshot does not know, or an error.
class StoreConcurrencyTest : public ::testing::TestWithParam<VectorIndexKind> {};

TEST_P(StoreConcurrencyTest, ReadersSeeWholeStatesWhileAWriterPuts) {
  test::TempDir tmp;
  StoreOptions options;
  options.index_kind = GetParam();
  auto store = open_with_model(tmp.path(), options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->put_document(make_doc("/hot"), make_chunks(doc_texts("hot")),
                                 make_vectors(1, kChunksPerDoc))
                  .ok());
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(store
                    ->put_document(make_doc("/base/" + n), make_chunks(doc_texts("base" + n)),
                                   make_vectors(static_cast<uint32_t>(50 + 10 * i), 3))
                    .ok());
  }

  const auto start = std::chrono::steady_clock::now();
  std::atomic<bool> writer_done{false};
  std::atomic<int> reads{0};
  std::thread writer([&] {
    for (int i = 0; i < kNewDocs; ++i) {
      const std::string n = std::to_string(i);
      auto id = store->put_document(make_doc("/new/" + n), make_chunks(doc_texts("new" + n)),
                                    make_vectors(static_cast<uint32_t>(100 + 10 * i), 3));
      EXPECT_TRUE(id.ok()) << id.status().to_string();
      auto hot = store->put_document(make_doc("/hot"), make_chunks(doc_texts("hot")),
                                     make_vectors(static_cast<uint32_t>(5000 + 10 * i), 3));
      EXPECT_TRUE(hot.ok()) << hot.status().to_string();
      if (i % 10 == 9) {
        Status flushed = store->flush();
        EXPECT_TRUE(flushed.ok()) << flushed.to_string();
      }
    }
    writer_done = true;
  });

  SearchFilter hot_only;
  hot_only.path_globs = {"/hot"};
  auto reader = [&](int seed) {
    int iteration = 0;
    // At least a few reads each, even if the writer finishes first.
    while ((!writer_done || iteration < 3) &&
           std::chrono::steady_clock::now() - start < kTimeLimit) {
      const std::vector<float> query =
          random_unit_vector(static_cast<uint32_t>(seed * 1000 + iteration));
      ++iteration;
      auto hot_text = store->search_bm25("hot", 10, hot_only);
      ASSERT_TRUE(hot_text.ok()) << hot_text.status().to_string();
      EXPECT_EQ(hot_text->size(), static_cast<size_t>(kChunksPerDoc));

      auto hot_dense = store->search_dense(query, 10, hot_only);
      ASSERT_TRUE(hot_dense.ok()) << hot_dense.status().to_string();
      EXPECT_EQ(hot_dense->size(), static_cast<size_t>(kChunksPerDoc));

      auto chunks = store->chunk_count();
      ASSERT_TRUE(chunks.ok()) << chunks.status().to_string();
      EXPECT_EQ(*chunks % kChunksPerDoc, 0) << *chunks;
      auto vectors = store->vector_count();
      ASSERT_TRUE(vectors.ok()) << vectors.status().to_string();
      EXPECT_EQ(*vectors % kChunksPerDoc, 0) << *vectors;

      auto near = store->search_dense(query, 5);
      ASSERT_TRUE(near.ok()) << near.status().to_string();
      EXPECT_EQ(near->size(), 5u);
      std::set<int64_t> distinct;
      for (const SearchHit& hit : *near) distinct.insert(hit.chunk_id);
      EXPECT_EQ(distinct.size(), near->size());

      // Chunks are only ever added, except /hot's old versions: a hit from a document that is not
      // /hot must still be readable afterwards.
      auto fetched = store->get_chunks(hit_ids(*near));
      ASSERT_TRUE(fetched.ok()) << fetched.status().to_string();
      EXPECT_GE(fetched->size() + kChunksPerDoc, near->size());
      auto got_vectors = store->get_vectors(hit_ids(*near));
      ASSERT_TRUE(got_vectors.ok()) << got_vectors.status().to_string();
      for (const ChunkVector& v : *got_vectors) EXPECT_EQ(v.vector.size(), 8u);

      if (GetParam() == VectorIndexKind::kFlat) {
        // Exact search over everything returns every live vector once: a whole number of docs.
        auto everything = store->search_dense(query, 100000);
        ASSERT_TRUE(everything.ok()) << everything.status().to_string();
        EXPECT_EQ(everything->size() % kChunksPerDoc, 0u) << everything->size();
      }
      reads.fetch_add(1);
    }
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) readers.emplace_back(reader, r + 1);
  writer.join();
  for (std::thread& thread : readers) thread.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;

  EXPECT_LT(elapsed, kTimeLimit);
  EXPECT_GE(reads.load(), kReaders * 3);
  EXPECT_EQ(*store->chunk_count(), (kNewDocs + 3) * kChunksPerDoc);
  EXPECT_EQ(*store->vector_count(), (kNewDocs + 3) * kChunksPerDoc);
  auto hot = store->find_document("/hot");
  ASSERT_TRUE(hot.ok() && hot->has_value());
  auto hot_chunks = *store->chunks_of((*hot)->id);
  ASSERT_EQ(hot_chunks.size(), static_cast<size_t>(kChunksPerDoc));
  // The last version of /hot is the one searched.
  auto last = make_vectors(5000 + 10 * (kNewDocs - 1), 3);
  auto hits = store->search_dense(last[2], 1);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].chunk_id, hot_chunks[2].id);
}

INSTANTIATE_TEST_SUITE_P(Kinds, StoreConcurrencyTest,
                         ::testing::Values(VectorIndexKind::kFlat, VectorIndexKind::kHnsw),
                         [](const auto& info) {
                           return std::string(vector_index_kind_name(info.param));
                         });

}  // namespace
}  // namespace quire::index
