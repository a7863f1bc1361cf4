// The LRU cache of query embeddings: capacity, eviction order, hit and miss counts, keys by
// embedder identity, errors, and concurrent use from several threads.
#include "retrieve/query_cache.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/fake_embedder.h"

namespace quire::retrieve {
namespace {

std::vector<float> vec(float x) {
  return {x, 0, 0};
}

TEST(QueryEmbeddingCache, LookupInsertAndCounters) {
  QueryEmbeddingCache cache(2);
  EXPECT_FALSE(cache.lookup("e", "q1").has_value());
  cache.insert("e", "q1", vec(1));
  auto got = cache.lookup("e", "q1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, vec(1));
  const QueryCacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.size, 1);
  EXPECT_EQ(s.capacity, 2);
  EXPECT_EQ(s.evictions, 0);
}

TEST(QueryEmbeddingCache, EvictsTheLeastRecentlyUsed) {
  QueryEmbeddingCache cache(3);
  cache.insert("e", "a", vec(1));
  cache.insert("e", "b", vec(2));
  cache.insert("e", "c", vec(3));
  // Touch a: b becomes the least recently used.
  ASSERT_TRUE(cache.lookup("e", "a").has_value());
  cache.insert("e", "d", vec(4));
  EXPECT_FALSE(cache.lookup("e", "b").has_value());
  EXPECT_TRUE(cache.lookup("e", "a").has_value());
  EXPECT_TRUE(cache.lookup("e", "c").has_value());
  EXPECT_TRUE(cache.lookup("e", "d").has_value());
  // Now the order (most recent first) is d, c, a: two inserts evict a then c.
  cache.insert("e", "x", vec(5));
  EXPECT_FALSE(cache.lookup("e", "a").has_value());
  cache.insert("e", "y", vec(6));
  EXPECT_FALSE(cache.lookup("e", "c").has_value());
  EXPECT_TRUE(cache.lookup("e", "d").has_value());
  const QueryCacheStats s = cache.stats();
  EXPECT_EQ(s.size, 3);
  EXPECT_EQ(s.evictions, 3);
}

TEST(QueryEmbeddingCache, ReinsertRefreshesWithoutGrowing) {
  QueryEmbeddingCache cache(2);
  cache.insert("e", "a", vec(1));
  cache.insert("e", "b", vec(2));
  cache.insert("e", "a", vec(7));  // a is now the most recent, with the new vector
  cache.insert("e", "c", vec(3));  // evicts b
  EXPECT_EQ(cache.stats().size, 2);
  EXPECT_FALSE(cache.lookup("e", "b").has_value());
  EXPECT_EQ(cache.lookup("e", "a").value(), vec(7));
}

TEST(QueryEmbeddingCache, CapacityZeroKeepsNothing) {
  QueryEmbeddingCache cache(0);
  test::FakeEmbedder embedder(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.embed(embedder, "q").ok());
  EXPECT_EQ(embedder.embed_calls(), 3);
  EXPECT_EQ(cache.stats().misses, 3);
  EXPECT_EQ(cache.stats().size, 0);
}

TEST(QueryEmbeddingCache, EmbedsOncePerQueryAndEmbedder) {
  QueryEmbeddingCache cache(8);
  test::FakeEmbedder first(4, "model-a"), second(4, "model-b");
  first.set("what is rrf", test::unit({1, 0, 0, 0}));
  second.set("what is rrf", test::unit({0, 1, 0, 0}));
  bool hit = true;
  auto v1 = cache.embed(first, "what is rrf", &hit);
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(hit);
  auto again = cache.embed(first, "what is rrf", &hit);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(hit);
  EXPECT_EQ(*again, *v1);
  EXPECT_EQ(first.embed_calls(), 1);
  // The same text through another embedder is another entry, with that embedder's vector.
  auto v2 = cache.embed(second, "what is rrf", &hit);
  ASSERT_TRUE(v2.ok());
  EXPECT_FALSE(hit);
  EXPECT_EQ(*v2, test::unit({0, 1, 0, 0}));
  EXPECT_EQ(second.embed_calls(), 1);
  // Texts differ by one byte: different entries.
  ASSERT_TRUE(cache.embed(first, "what is rrf?").ok());
  EXPECT_EQ(first.embed_calls(), 2);
  const QueryCacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.misses, 3);
  EXPECT_EQ(s.size, 3);
  EXPECT_NE(QueryEmbeddingCache::embedder_identity(first),
            QueryEmbeddingCache::embedder_identity(second));
}

TEST(QueryEmbeddingCache, KeysCannotCollideAcrossTheSeparator) {
  QueryEmbeddingCache cache(4);
  cache.insert("ab", "c", vec(1));
  EXPECT_FALSE(cache.lookup("a", "bc").has_value());
  EXPECT_FALSE(cache.lookup("abc", "").has_value());
}

class FailingEmbedder : public test::FakeEmbedder {
 public:
  FailingEmbedder() : test::FakeEmbedder(3) {}
  Result<std::vector<std::vector<float>>> embed(std::span<const std::string>,
                                                engine::EmbedStats*) override {
    return unavailable_error("model busy");
  }
};

TEST(QueryEmbeddingCache, ErrorsAreReturnedAndNotStored) {
  QueryEmbeddingCache cache(4);
  FailingEmbedder failing;
  auto v = cache.embed(failing, "q");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache.stats().size, 0);
}

TEST(QueryEmbeddingCache, ConcurrentUseFromSeveralThreads) {
  // 8 threads, each asking 200 times for 16 queries (an LRU of 8): the counters add up, every
  // vector returned is the embedder's vector for its query, and the size never exceeds the
  // capacity. Run under TSan/ASan this also checks the locking.
  QueryEmbeddingCache cache(8);
  test::FakeEmbedder embedder(16);
  constexpr int kThreads = 8, kRounds = 200, kQueries = 16;
  std::vector<std::vector<float>> expected;
  for (int q = 0; q < kQueries; ++q) {
    auto v = embedder.embed(std::vector<std::string>{"query " + std::to_string(q)});
    ASSERT_TRUE(v.ok());
    expected.push_back((*v)[0]);
  }
  const int64_t calls_before = embedder.embed_calls();
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        // Each thread walks a small hot set (2 queries) and sometimes a cold one.
        const int q = r % 5 == 4 ? (t + r) % kQueries : (t % 4) * 2 + r % 2;
        auto v = cache.embed(embedder, "query " + std::to_string(q));
        if (!v.ok() || *v != expected[static_cast<size_t>(q)]) ++wrong[static_cast<size_t>(t)];
        if (cache.stats().size > 8) ++wrong[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[static_cast<size_t>(t)], 0) << "thread " << t;
  const QueryCacheStats s = cache.stats();
  EXPECT_EQ(s.hits + s.misses, kThreads * kRounds);
  EXPECT_EQ(embedder.embed_calls() - calls_before, s.misses);
  EXPECT_GT(s.hits, 0);
  EXPECT_LE(s.size, 8);
}

}  // namespace
}  // namespace quire::retrieve
