// Context packing: merges, numbering, the budget (on random cases), errors; overlap removal.
#include "retrieve/context_pack.h"

#include <map>
#include <random>

#include <gtest/gtest.h>

namespace quire::retrieve {
namespace {

// Documents whose text is known, and chunks cut from it.
struct Corpus {
  std::map<int64_t, std::string> text;  // doc id -> normalized text
  int64_t next_chunk = 1;

  SearchResult chunk(int64_t doc, int64_t start, int64_t end, double score, int64_t page_start,
                     int64_t page_end) {
    SearchResult r;
    r.chunk.id = next_chunk++;
    r.chunk.doc_id = doc;
    r.chunk.char_start = start;
    r.chunk.char_end = end;
    r.chunk.page_start = page_start;
    r.chunk.page_end = page_end;
    r.chunk.text = text[doc].substr(static_cast<size_t>(start), static_cast<size_t>(end - start));
    r.document.id = doc;
    r.document.path = "/papers/doc" + std::to_string(doc) + ".pdf";
    r.document.title = "Doc " + std::to_string(doc);
    r.score = score;
    return r;
  }
};

std::string letters(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>('a' + rng() % 26);
  return s;
}

int64_t cost(const PackedSource& s) {
  return 10 + static_cast<int64_t>(s.text.size()) / 4;
}

TEST(ContextPack, MergesTouchingChunksOfOneDocument) {
  Corpus c;
  c.text[1] = letters(1000, 1);
  c.text[2] = letters(1000, 2);
  std::vector<SearchResult> ranked = {
      c.chunk(1, 100, 300, 0.9, 2, 2),  // best
      c.chunk(2, 0, 200, 0.8, 1, 1),
      c.chunk(1, 250, 450, 0.7, 2, 3),  // overlaps the best: merges into [1]
      c.chunk(1, 450, 600, 0.6, 3, 3),  // touches the merged range: merges too
      c.chunk(1, 800, 900, 0.5, 5, 5),  // same document, apart: its own source
  };
  auto packed = pack_context(ranked, PackOptions{10000, 8}, cost);
  ASSERT_TRUE(packed.ok()) << packed.status().message();
  ASSERT_EQ(packed->size(), 3u);
  const PackedSource& first = (*packed)[0];
  EXPECT_EQ(first.number, 1);
  EXPECT_EQ(first.doc_id, 1);
  EXPECT_EQ(first.char_start, 100);
  EXPECT_EQ(first.char_end, 600);
  EXPECT_EQ(first.text, c.text[1].substr(100, 500));
  EXPECT_EQ(first.page_start, 2);
  EXPECT_EQ(first.page_end, 3);
  EXPECT_EQ(first.chunk_ids, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_DOUBLE_EQ(first.score, 0.9);
  EXPECT_EQ(first.tokens, cost(first));
  EXPECT_EQ(first.path, "/papers/doc1.pdf");
  EXPECT_EQ((*packed)[1].number, 2);
  EXPECT_EQ((*packed)[1].doc_id, 2);
  EXPECT_EQ((*packed)[2].number, 3);
  EXPECT_EQ((*packed)[2].char_start, 800);
  EXPECT_EQ((*packed)[2].page_start, 5);
}

TEST(ContextPack, ChunkInsideASourceCostsNothing) {
  Corpus c;
  c.text[1] = letters(500, 3);
  std::vector<SearchResult> ranked = {c.chunk(1, 0, 400, 0.9, 1, 2),
                                      c.chunk(1, 100, 200, 0.5, 1, 1)};
  // Budget: the first source exactly; the second chunk lies inside it.
  auto packed = pack_context(ranked, PackOptions{10 + 400 / 4, 8}, cost);
  ASSERT_TRUE(packed.ok());
  ASSERT_EQ(packed->size(), 1u);
  EXPECT_EQ((*packed)[0].chunk_ids, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*packed)[0].text, c.text[1].substr(0, 400));
}

TEST(ContextPack, NeverExceedsTheBudgetOnRandomCases) {
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    Corpus c;
    const int n_docs = 1 + static_cast<int>(rng() % 4);
    for (int d = 1; d <= n_docs; ++d)
      c.text[d] = letters(2000, static_cast<unsigned>(round * 10 + d));
    std::vector<SearchResult> ranked;
    const int n = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) {
      const int64_t doc = 1 + static_cast<int64_t>(rng() % n_docs);
      const int64_t start = static_cast<int64_t>(rng() % 1800);
      const int64_t end = std::min<int64_t>(2000, start + 20 + static_cast<int64_t>(rng() % 300));
      const int64_t page = 1 + start / 400;
      ranked.push_back(c.chunk(doc, start, end, 1.0 - 0.01 * i, page, 1 + (end - 1) / 400));
    }
    PackOptions options;
    options.budget_tokens = 40 + static_cast<int64_t>(rng() % 400);
    options.max_sources = 1 + static_cast<int>(rng() % 8);
    auto packed = pack_context(ranked, options, cost);
    if (!packed.ok()) {
      EXPECT_EQ(packed.status().code(), StatusCode::kResourceExhausted);
      EXPECT_GT(10 + static_cast<int64_t>(ranked[0].chunk.text.size()) / 4, options.budget_tokens);
      continue;
    }
    int64_t total = 0;
    ASSERT_FALSE(packed->empty());
    ASSERT_LE(static_cast<int>(packed->size()), options.max_sources);
    for (size_t i = 0; i < packed->size(); ++i) {
      const PackedSource& s = (*packed)[i];
      EXPECT_EQ(s.number, static_cast<int>(i + 1));
      EXPECT_EQ(s.tokens, cost(s));
      EXPECT_EQ(s.text, c.text[s.doc_id].substr(static_cast<size_t>(s.char_start),
                                                static_cast<size_t>(s.char_end - s.char_start)));
      if (i > 0) {
        EXPECT_GE((*packed)[i - 1].score, s.score);
      }
      total += s.tokens;
    }
    EXPECT_LE(total, options.budget_tokens);
    // The best chunk is always in source [1].
    const auto& ids = (*packed)[0].chunk_ids;
    EXPECT_NE(std::find(ids.begin(), ids.end(), ranked[0].chunk.id), ids.end());
  }
}

TEST(ContextPack, Errors) {
  Corpus c;
  c.text[1] = letters(1000, 9);
  std::vector<SearchResult> ranked = {c.chunk(1, 0, 800, 0.9, 1, 1)};
  auto too_small = pack_context(ranked, PackOptions{50, 8}, cost);
  ASSERT_FALSE(too_small.ok());
  EXPECT_EQ(too_small.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(too_small.status().message().find("210 tokens"), std::string::npos)
      << too_small.status().message();
  EXPECT_NE(too_small.status().message().find("budget of 50"), std::string::npos);
  EXPECT_EQ(pack_context(ranked, PackOptions{0, 8}, cost).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(pack_context(ranked, PackOptions{100, 0}, cost).status().code(),
            StatusCode::kInvalidArgument);
  auto none = pack_context({}, PackOptions{100, 8}, cost);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(RemoveOverlapping, DropsChunksMostlyCoveredByBetterOnes) {
  Corpus c;
  c.text[1] = letters(1000, 4);
  c.text[2] = letters(1000, 5);
  std::vector<SearchResult> ranked = {
      c.chunk(1, 0, 200, 0.9, 1, 1),   c.chunk(1, 150, 350, 0.8, 1, 1),  // 25% covered: kept
      c.chunk(1, 100, 300, 0.7, 1, 1),  // covered by the two above: dropped
      c.chunk(2, 0, 200, 0.6, 1, 1),    // another document: kept
      c.chunk(1, 180, 220, 0.5, 1, 1),  // inside: dropped
  };
  auto kept = remove_overlapping(ranked, 0.5);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].chunk.id, 1);
  EXPECT_EQ(kept[1].chunk.id, 2);
  EXPECT_EQ(kept[2].chunk.id, 4);
  EXPECT_EQ(remove_overlapping(ranked, 1.01).size(), ranked.size());
}

}  // namespace
}  // namespace quire::retrieve
