#include "engine/core/thread_pool.h"

#include <atomic>
#include <cmath>
#include <numeric>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace quire {
namespace {

// A row-parallel computation: out[i] = sum_j f(i, j). Each row is computed by one thread, so the
// result must not depend on the thread count or the grain.
std::vector<double> compute_rows(ThreadPool& pool, size_t rows, size_t grain) {
  std::vector<double> out(rows, 0.0);
  pool.parallel_for(rows, grain, [&](size_t begin, size_t end, int) {
    for (size_t i = begin; i < end; ++i) {
      double acc = 0.0;
      for (size_t j = 0; j < 257; ++j) acc += std::sin(0.001 * static_cast<double>(i * 257 + j));
      out[i] = acc;
    }
  });
  return out;
}

TEST(ThreadPoolTest, ResultsIndependentOfThreadCountAndGrain) {
  ThreadPool one(1);
  const std::vector<double> reference = compute_rows(one, 1003, 1);
  for (int threads : {1, 2, 3, 4, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (size_t grain : {1, 7, 64, 1003, 5000}) {
      EXPECT_EQ(compute_rows(pool, 1003, grain), reference)
          << "threads " << threads << " grain " << grain;
    }
  }
}

TEST(ThreadPoolTest, EveryIndexVisitedExactlyOnce) {
  ThreadPool pool(4);
  for (size_t n : {1, 2, 3, 5, 64, 1000, 4099}) {
    std::vector<std::atomic<int>> visits(n);
    pool.parallel_for(n, 3, [&](size_t begin, size_t end, int worker) {
      ASSERT_LT(begin, end);
      ASSERT_LE(end, n);
      ASSERT_GE(worker, 0);
      ASSERT_LT(worker, pool.size());
      for (size_t i = begin; i < end; ++i) visits[i].fetch_add(1);
    });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(visits[i].load(), 1) << "n " << n << " i " << i;
  }
}

TEST(ThreadPoolTest, StaticSplitGivesOneChunkPerThread) {
  ThreadPool pool(3);
  std::atomic<int> calls{0};
  pool.parallel_for(10, [&](size_t begin, size_t end, int) {
    calls.fetch_add(1);
    EXPECT_LE(end - begin, 4u);  // ceil(10 / 3)
  });
  EXPECT_EQ(calls.load(), 3);
}

TEST(ThreadPoolTest, ZeroLengthRangeReturnsWithoutCalling) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    int calls = 0;
    for (int k = 0; k < 1000; ++k) {
      pool.parallel_for(0, 1, [&](size_t, size_t, int) { ++calls; });
      pool.parallel_for(0, [&](size_t, size_t, int) { ++calls; });
    }
    EXPECT_EQ(calls, 0);
    // The pool still works afterwards (no deadlock, no stuck barrier).
    std::atomic<size_t> sum{0};
    pool.parallel_for(100, 1, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; ++i) sum.fetch_add(i);
    });
    EXPECT_EQ(sum.load(), 4950u);
  }
}

TEST(ThreadPoolTest, ManySmallJobsBackToBack) {
  // Decode issues hundreds of tiny parallel_for calls per token: the barrier must hold up.
  ThreadPool pool(4);
  std::vector<int> data(64, 0);
  for (int round = 0; round < 5000; ++round) {
    pool.parallel_for(data.size(), 8, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; ++i) data[i] += 1;
    });
  }
  for (int v : data) EXPECT_EQ(v, 5000);
}

TEST(ThreadPoolTest, NestedCallRunsSeriallyInsteadOfDeadlocking) {
  ThreadPool pool(2);
  std::atomic<int> inner_total{0};
  pool.parallel_for(4, 1, [&](size_t, size_t, int) {
    pool.parallel_for(
        10, 1, [&](size_t b, size_t e, int) { inner_total.fetch_add(static_cast<int>(e - b)); });
  });
  EXPECT_EQ(inner_total.load(), 40);
}

TEST(ThreadPoolTest, CallsFromSeveralThreadsAreSerialized) {
  ThreadPool pool(3);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int k = 0; k < 200; ++k) {
        pool.parallel_for(
            50, 5, [&](size_t b, size_t e, int) { total.fetch_add(static_cast<long>(e - b)); });
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(total.load(), 4L * 200 * 50);
}

TEST(ThreadPoolTest, DefaultThreadCountIsPositive) {
  EXPECT_GE(default_thread_count(), 1);
  ThreadPool pool;  // default size
  EXPECT_EQ(pool.size(), default_thread_count());
}

}  // namespace
}  // namespace quire
