#include "ingest/chunker.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_reader.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/support/test_support.h"

namespace quire::ingest {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t';
}

// One token per whitespace-separated word: makes sizes easy to reason about in tests.
int64_t count_words(std::string_view s) {
  int64_t n = 0;
  bool in_word = false;
  for (char c : s) {
    if (is_space(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++n;
    }
  }
  return n;
}

const TokenCounter kWordCounter = [](std::string_view s) { return count_words(s); };
const TokenCounter kEstimate = [](std::string_view s) { return estimate_tokens(s); };

std::vector<Page> make_pages(const std::vector<std::string>& texts) {
  std::vector<Page> pages;
  for (size_t i = 0; i < texts.size(); ++i)
    pages.push_back({static_cast<int64_t>(i + 1), texts[i]});
  return pages;
}

std::vector<std::string> chunk_texts(const std::vector<index::ChunkRecord>& chunks) {
  std::vector<std::string> out;
  for (const index::ChunkRecord& c : chunks) out.push_back(c.text);
  return out;
}

// Random prose: sentences of 6-20 words starting with a capital and ending with '.', some with
// abbreviations inside ("e.g.", "Fig. 3", "et al.", "Dr.", initials) that must not end them.
// Paragraphs of 2-7 sentences, pages of 3-6 paragraphs.
std::vector<Page> synthetic_document(int n_pages, uint32_t seed) {
  static const char* kWords[] = {
      "model",  "retrieval", "index",  "vector", "query",    "latency", "token",  "chunk",
      "page",   "embedding", "memory", "decode", "batch",    "search",  "corpus", "answer",
      "signal", "kernel",    "thread", "cache",  "document", "score",   "rank",   "fusion",
      "the",    "a",         "of",     "with",   "and",      "for",     "in",     "to",
      "naïve",  "café",      "résumé", "über",   "x86",      "3.5",     "GPU",    "well-known"};
  static const char* kInserts[] = {"e.g. the model", "Fig. 3 shows",      "Smith et al. found",
                                   "Dr. Jones said", "J. R. Smith noted", "i.e. the index",
                                   "in Eq. 2 and",   "vs. the baseline"};
  std::mt19937 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::vector<Page> pages;
  for (int p = 1; p <= n_pages; ++p) {
    std::string text;
    const size_t n_paragraphs = 3 + pick(4);
    for (size_t para = 0; para < n_paragraphs; ++para) {
      if (para > 0) text += "\n\n";
      const size_t n_sentences = 2 + pick(6);
      for (size_t s = 0; s < n_sentences; ++s) {
        if (s > 0) text += ' ';
        const size_t n_words = 6 + pick(15);
        for (size_t w = 0; w < n_words; ++w) {
          // Sentences start with one of the first 32 words (ASCII letters): a capital follows.
          std::string word = kWords[pick(w == 0 ? 32 : std::size(kWords))];
          if (w == 0)
            word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
          if (w > 0) text += ' ';
          text += word;
          if (w == 2 && pick(4) == 0)
            text += std::string(" ") + kInserts[pick(std::size(kInserts))];
        }
        text += '.';
      }
    }
    pages.push_back({p, text});
  }
  return pages;
}

// The invariants every chunking must satisfy.
void check_invariants(const std::vector<Page>& pages, const std::vector<index::ChunkRecord>& chunks,
                      const ChunkerOptions& options, const TokenCounter& count) {
  const std::string doc = document_text(pages);
  std::vector<int64_t> starts;
  int64_t offset = 0;
  for (const Page& p : pages) {
    starts.push_back(offset);
    offset += static_cast<int64_t>(p.text.size()) + 2;
  }
  auto page_of = [&](int64_t pos) {
    size_t i = starts.size() - 1;
    while (starts[i] > pos) --i;
    return pages[i].number;
  };
  int64_t covered_until = 0;  // every non-space byte before this is in some chunk
  for (size_t i = 0; i < chunks.size(); ++i) {
    const index::ChunkRecord& c = chunks[i];
    SCOPED_TRACE("chunk " + std::to_string(i));
    EXPECT_EQ(c.ord, static_cast<int64_t>(i));
    ASSERT_GE(c.char_start, 0);
    ASSERT_LT(c.char_start, c.char_end);
    ASSERT_LE(c.char_end, static_cast<int64_t>(doc.size()));
    // Offsets exact.
    ASSERT_EQ(c.text, doc.substr(static_cast<size_t>(c.char_start),
                                 static_cast<size_t>(c.char_end - c.char_start)));
    // Never mid-word, never on a space.
    EXPECT_TRUE(c.char_start == 0 || is_space(doc[c.char_start - 1]));
    EXPECT_TRUE(c.char_end == static_cast<int64_t>(doc.size()) || is_space(doc[c.char_end]));
    EXPECT_FALSE(is_space(c.text.front()));
    EXPECT_FALSE(is_space(c.text.back()));
    // Pages from offsets.
    EXPECT_EQ(c.page_start, page_of(c.char_start));
    EXPECT_EQ(c.page_end, page_of(c.char_end - 1));
    // Sizes: measured, at most the target unless the chunk is one word.
    EXPECT_EQ(c.n_tokens, count(c.text));
    if (c.text.find_first_of(" \n\t") != std::string::npos) {
      EXPECT_LE(c.n_tokens, options.target_tokens) << c.text;
    }
    // Order and coverage: chunks move forward and leave no text out.
    if (i > 0) {
      EXPECT_GT(c.char_start, chunks[i - 1].char_start);
    }
    for (int64_t k = covered_until; k < c.char_start; ++k) {
      ASSERT_TRUE(is_space(doc[k])) << "text left out at " << k;
    }
    covered_until = std::max(covered_until, c.char_end);
  }
  for (int64_t k = covered_until; k < static_cast<int64_t>(doc.size()); ++k) {
    ASSERT_TRUE(is_space(doc[k])) << "text left out at " << k;
  }
}

TEST(EstimateTokens, WordsAndPunctuation) {
  EXPECT_EQ(estimate_tokens(""), 0);
  EXPECT_EQ(estimate_tokens("   \n"), 0);
  EXPECT_EQ(estimate_tokens("hello"), 2);             // ceil(1.3)
  EXPECT_EQ(estimate_tokens("hello world"), 3);       // ceil(2.6)
  EXPECT_EQ(estimate_tokens("Hello, world."), 5);     // 3 + 2 punctuation
  EXPECT_EQ(estimate_tokens("state-of-the-art"), 9);  // 4 words -> 6, 3 hyphens
  EXPECT_EQ(estimate_tokens("ten words ten words ten words ten words ten words"), 13);
  EXPECT_EQ(estimate_tokens("naïve café"), 3);  // UTF-8 bytes are word characters
}

TEST(DocumentText, PagesJoinedWithBlankLine) {
  EXPECT_EQ(document_text({}), "");
  EXPECT_EQ(document_text(make_pages({"a"})), "a");
  EXPECT_EQ(document_text(make_pages({"a", "", "b c"})), "a\n\n\n\nb c");
}

TEST(DocumentText, PageStartsLocateEveryChunkPage) {
  EXPECT_TRUE(page_starts({}).empty());
  EXPECT_EQ(page_starts(make_pages({"a", "", "b c"})), (std::vector<int64_t>{0, 3, 5}));
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    const std::vector<Page> pages = synthetic_document(9, seed);
    index::DocumentRecord doc;
    doc.page_starts = page_starts(pages);
    const std::string text = document_text(pages);
    for (size_t i = 0; i < pages.size(); ++i) {
      EXPECT_EQ(text.substr(static_cast<size_t>(doc.page_starts[i]), pages[i].text.size()),
                pages[i].text);
    }
    // The page of a chunk's first and last characters is the chunk's page range.
    for (const index::ChunkRecord& c : chunk_pages(pages, ChunkerOptions{64, 16}, kEstimate)) {
      EXPECT_EQ(index::page_at(doc, c.char_start), c.page_start) << c.text;
      EXPECT_EQ(index::page_at(doc, c.char_end - 1), c.page_end) << c.text;
    }
  }
  EXPECT_EQ(index::page_at(index::DocumentRecord{}, 10), 0);  // unknown offsets
}

TEST(ChunkPages, EmptyInputGivesNoChunks) {
  const ChunkerOptions options;
  EXPECT_TRUE(chunk_pages({}, options, kEstimate).empty());
  EXPECT_TRUE(chunk_pages(make_pages({"", "", ""}), options, kEstimate).empty());
  EXPECT_TRUE(chunk_pages(make_pages({" \n\n ", "\n"}), options, kEstimate).empty());
}

TEST(ChunkPages, SmallDocumentIsOneChunk) {
  const std::vector<Page> pages = make_pages({"One sentence here. Another one.", "", "Last page."});
  const ChunkerOptions options;
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, kEstimate);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "One sentence here. Another one.\n\n\n\nLast page.");
  EXPECT_EQ(chunks[0].page_start, 1);
  EXPECT_EQ(chunks[0].page_end, 3);
  check_invariants(pages, chunks, options, kEstimate);
}

TEST(ChunkPages, NullCounterMeansEstimate) {
  const std::vector<Page> pages = synthetic_document(3, 7);
  const ChunkerOptions options{64, 16};
  const std::vector<index::ChunkRecord> a = chunk_pages(pages, options, TokenCounter());
  const std::vector<index::ChunkRecord> b = chunk_pages(pages, options, kEstimate);
  EXPECT_EQ(chunk_texts(a), chunk_texts(b));
}

TEST(ChunkPages, SentenceBoundariesAndAbbreviations) {
  // Every sentence is exactly 6 words and the target is 6 words, overlap 0: each chunk must be
  // exactly one sentence, so the chunks show where the splitter put the boundaries.
  const std::vector<std::string> sentences = {
      "Dr. Smith went home very early.",
      "He saw Fig. 3 right there.",
      "Some tools, e.g. Lucene, differ greatly.",
      "Smith et al. Report similar gains.",
      "J. R. Tolkien wrote many books.",
      "Apples vs. Oranges is a classic.",
      "Is this really the right answer?",
      "Yes it is the right one!",
      "He wrote: \"the end is near.\"",
      "\"Quoted starts are fine here too.\"",
      "3 cats sat on the mat.",
      "Results in the U.S. were similar.",
      "See Eq. (4) for the proof.",
      "Élan starts with an accented capital.",
  };
  std::string text;
  for (const std::string& s : sentences) text += (text.empty() ? "" : " ") + s;
  const std::vector<Page> pages = make_pages({text});
  const ChunkerOptions options{6, 0};
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, kWordCounter);
  EXPECT_EQ(chunk_texts(chunks), sentences);
  check_invariants(pages, chunks, options, kWordCounter);
}

TEST(ChunkPages, NoSentenceBreakBeforeLowercaseOrInsideNumbers) {
  // Not sentence boundaries: ". and" (lowercase follows), "3.5", "example.com." + lowercase.
  // With a target of 5 words the 9-word run is split at word boundaries, 5 + 4, instead of at
  // the period (4 + 5).
  const std::vector<Page> pages =
      make_pages({"First part ends here. and continues in lowercase now."});
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, {5, 0}, kWordCounter);
  EXPECT_EQ(chunk_texts(chunks),
            (std::vector<std::string>{"First part ends here. and", "continues in lowercase now."}));
  const std::vector<Page> numbers = make_pages({"Version 3.5 of it. Then 2.0 came."});
  EXPECT_EQ(chunk_texts(chunk_pages(numbers, {4, 0}, kWordCounter)),
            (std::vector<std::string>{"Version 3.5 of it.", "Then 2.0 came."}));
}

TEST(ChunkPages, ParagraphBoundaryPreferred) {
  // Two paragraphs of 30 words; target 40: the first chunk ends with the first paragraph (more
  // than half full) instead of taking 10 words of the second.
  std::string para_a, para_b;
  for (int s = 0; s < 6; ++s) {
    const std::string letter(1, static_cast<char>('a' + s));
    if (s > 0) {
      para_a += ' ';
      para_b += ' ';
    }
    para_a += "Alpha sentence number " + letter + " here.";
    para_b += "Beta sentence number " + letter + " here.";
  }

  const std::vector<Page> pages = make_pages({para_a + "\n\n" + para_b});
  const ChunkerOptions options{40, 0};
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, kWordCounter);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, para_a);
  EXPECT_EQ(chunks[1].text, para_b);
}

TEST(ChunkPages, RandomDocumentInvariants) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    const std::vector<Page> pages = synthetic_document(12, seed);
    for (const ChunkerOptions options :
         {ChunkerOptions{256, 32}, ChunkerOptions{64, 16}, ChunkerOptions{512, 0}}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " target " +
                   std::to_string(options.target_tokens));
      const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, kEstimate);
      ASSERT_GT(chunks.size(), 1u);
      check_invariants(pages, chunks, options, kEstimate);
      // Sentence boundaries respected: every sentence here is shorter than the target, so
      // every chunk starts with a capital and ends with the period of a sentence.
      for (const index::ChunkRecord& c : chunks) {
        EXPECT_TRUE(std::isupper(static_cast<unsigned char>(c.text.front()))) << c.text;
        EXPECT_EQ(c.text.back(), '.') << c.text;
        // ...and never right after an abbreviation or initial.
        const std::string doc = document_text(pages);
        const std::string before = doc.substr(0, static_cast<size_t>(c.char_start));
        for (const char* abbr :
             {" e.g.", " Fig.", " al.", " Dr.", " J.", " R.", " i.e.", " Eq.", " vs."}) {
          const std::string a = std::string(abbr) + " ";
          EXPECT_FALSE(before.size() >= a.size() && before.ends_with(a))
              << before.substr(before.size() - std::min<size_t>(40, before.size())) << "|"
              << c.text;
        }
      }
      // Chunks are reasonably full: on average at least half the target.
      int64_t total = 0;
      for (const index::ChunkRecord& c : chunks) total += c.n_tokens;
      EXPECT_GE(total / static_cast<int64_t>(chunks.size()), options.target_tokens / 2);
    }
  }
}

TEST(ChunkPages, OverlapIsWholeTrailingSentences) {
  const std::vector<Page> pages = synthetic_document(20, 42);
  const ChunkerOptions options{128, 32};
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, kEstimate);
  check_invariants(pages, chunks, options, kEstimate);
  const std::string doc = document_text(pages);
  size_t with_overlap = 0;
  for (size_t i = 1; i < chunks.size(); ++i) {
    const index::ChunkRecord& prev = chunks[i - 1];
    const index::ChunkRecord& cur = chunks[i];
    if (cur.char_start >= prev.char_end) continue;
    ++with_overlap;
    // The shared text is the tail of the previous chunk, starts a sentence and stays within the
    // overlap budget.
    const std::string shared = doc.substr(static_cast<size_t>(cur.char_start),
                                          static_cast<size_t>(prev.char_end - cur.char_start));
    EXPECT_TRUE(prev.text.ends_with(shared));
    EXPECT_TRUE(std::isupper(static_cast<unsigned char>(shared.front()))) << shared;
    EXPECT_EQ(shared.back(), '.');
    EXPECT_LE(estimate_tokens(shared), options.overlap_tokens) << shared;
    EXPECT_GT(cur.char_start, prev.char_start);
  }
  // Sentences here are 8-40 estimated tokens; most fit in a 32-token overlap.
  EXPECT_GE(with_overlap * 10, (chunks.size() - 1) * 6)
      << with_overlap << " of " << chunks.size() - 1 << " consecutive pairs overlap";

  // overlap_tokens = 0: chunks are disjoint.
  const std::vector<index::ChunkRecord> disjoint = chunk_pages(pages, {128, 0}, kEstimate);
  for (size_t i = 1; i < disjoint.size(); ++i) {
    EXPECT_GE(disjoint[i].char_start, disjoint[i - 1].char_end);
  }
}

TEST(ChunkPages, PagesFromOffsets) {
  // Each page is one 6-word sentence; 2 sentences per chunk; an empty page in the middle.
  const std::vector<Page> pages =
      make_pages({"Page one has six words here.", "Page two has six words here.", "",
                  "Page four has six words here.", "Page five has six words here."});
  const ChunkerOptions options{12, 0};
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, kWordCounter);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].page_start, 1);
  EXPECT_EQ(chunks[0].page_end, 2);
  EXPECT_EQ(chunks[1].page_start, 4);
  EXPECT_EQ(chunks[1].page_end, 5);
  check_invariants(pages, chunks, options, kWordCounter);
  // Page numbers are the pages' own numbers, not positions.
  std::vector<Page> numbered = pages;
  for (Page& p : numbered) p.number += 100;
  const std::vector<index::ChunkRecord> shifted = chunk_pages(numbered, options, kWordCounter);
  EXPECT_EQ(shifted[1].page_start, 104);
}

TEST(ChunkPages, OneHugeSentenceSplitAtWords) {
  std::string text = "Start";
  for (int i = 0; i < 5000; ++i) text += " word" + std::to_string(i % 97);
  const std::vector<Page> pages = make_pages({text});
  const ChunkerOptions options{64, 8};
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, kEstimate);
  check_invariants(pages, chunks, options, kEstimate);
  // 5001 words at 1.3 tokens each: about 102 chunks of <= 64 tokens.
  EXPECT_GE(chunks.size(), 100u);
  EXPECT_LE(chunks.size(), 130u);
}

TEST(ChunkPages, WordLongerThanTargetIsItsOwnChunk) {
  // One token per 4 bytes: a 400-byte word is 100 tokens, over the 16-token target.
  const TokenCounter by_bytes = [](std::string_view s) {
    return static_cast<int64_t>((s.size() + 3) / 4);
  };
  const std::string long_word(400, 'x');
  const std::vector<Page> pages = make_pages({"Short start here. " + long_word + " tail words."});
  const ChunkerOptions options{16, 0};
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, by_bytes);
  check_invariants(pages, chunks, options, by_bytes);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].text, "Short start here.");
  EXPECT_EQ(chunks[1].text, long_word);
  EXPECT_EQ(chunks[1].n_tokens, 100);
  EXPECT_EQ(chunks[2].text, "tail words.");
}

TEST(ChunkPages, CounterWithSpecialTokensStaysUnderTarget) {
  // A tokenizer that adds [CLS] and [SEP] to every call: count("") == 2.
  const TokenCounter with_specials = [](std::string_view s) { return estimate_tokens(s) + 2; };
  const std::vector<Page> pages = synthetic_document(10, 3);
  const ChunkerOptions options{128, 16};
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, with_specials);
  check_invariants(pages, chunks, options, with_specials);
  int64_t total = 0;
  for (const index::ChunkRecord& c : chunks) total += c.n_tokens;
  EXPECT_GE(total / static_cast<int64_t>(chunks.size()), 80);  // the fixed cost is not summed
}

void expect_same_chunks(const std::vector<index::ChunkRecord>& a,
                        const std::vector<index::ChunkRecord>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("chunk " + std::to_string(i));
    EXPECT_EQ(a[i].id, 0);
    EXPECT_EQ(a[i].doc_id, 0);
    EXPECT_EQ(a[i].ord, b[i].ord);
    EXPECT_EQ(a[i].page_start, b[i].page_start);
    EXPECT_EQ(a[i].page_end, b[i].page_end);
    EXPECT_EQ(a[i].char_start, b[i].char_start);
    EXPECT_EQ(a[i].char_end, b[i].char_end);
    EXPECT_EQ(a[i].n_tokens, b[i].n_tokens);
    EXPECT_EQ(a[i].text, b[i].text);
  }
}

TEST(ChunkPagesEncoded, SameChunksAsCountingAndKeepsTheIds) {
  // One id per word between a fixed [CLS] (1) and [SEP] (2): counts as kWordCounter does.
  std::vector<std::string> encoded_texts;
  const TokenEncoder encode = [&](std::string_view s) {
    encoded_texts.emplace_back(s);
    std::vector<engine::TokenId> ids = {1};
    for (int64_t i = 0; i < count_words(s); ++i)
      ids.push_back(static_cast<engine::TokenId>(10 + i));
    ids.push_back(2);
    return ids;
  };
  const std::vector<Page> pages = synthetic_document(6, 5);
  const ChunkerOptions options{40, 8};
  const EncodedChunks encoded = chunk_pages_encoded(pages, options, encode);
  const std::vector<index::ChunkRecord> counted = chunk_pages(pages, options, kWordCounter);
  ASSERT_GT(counted.size(), 3u);
  expect_same_chunks(encoded.chunks, counted);
  check_invariants(pages, encoded.chunks, options, kWordCounter);
  // The kept ids come from encoding each chunk's text whole (its final measurement).
  for (const index::ChunkRecord& c : encoded.chunks) {
    EXPECT_GE(std::count(encoded_texts.begin(), encoded_texts.end(), c.text), 1) << c.text;
  }
  ASSERT_EQ(encoded.token_ids.size(), encoded.chunks.size());
  for (size_t i = 0; i < encoded.chunks.size(); ++i) {
    EXPECT_EQ(encoded.token_ids[i], encode(encoded.chunks[i].text)) << i;
  }
}

TEST(ChunkPagesEncoded, WordPieceIdsAreTheEmbeddersIds) {
  QUIRE_REQUIRE_SHARED();
  auto file = engine::gguf::GgufFile::open(quire::test::shared_dir() +
                                           "/conformance/vocab/ggml-vocab-bert-bge.gguf");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto tokenizer = engine::make_tokenizer(*file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  const engine::Tokenizer& tok = **tokenizer;
  const TokenCounter count = [&](std::string_view s) {
    return static_cast<int64_t>(tok.encode(s, false, false).size());
  };
  const TokenEncoder encode = [&](std::string_view s) { return tok.encode(s, true, false); };
  const std::vector<Page> pages = synthetic_document(8, 7);
  for (const ChunkerOptions options : {ChunkerOptions{}, ChunkerOptions{64, 16}}) {
    const EncodedChunks encoded = chunk_pages_encoded(pages, options, encode);
    expect_same_chunks(encoded.chunks, chunk_pages(pages, options, count));
    check_invariants(pages, encoded.chunks, options, count);
    ASSERT_EQ(encoded.token_ids.size(), encoded.chunks.size());
    for (size_t i = 0; i < encoded.chunks.size(); ++i) {
      EXPECT_EQ(encoded.token_ids[i], tok.encode(encoded.chunks[i].text, true, false)) << i;
      EXPECT_EQ(static_cast<int64_t>(encoded.token_ids[i].size()), encoded.chunks[i].n_tokens + 2);
    }
  }
  EXPECT_TRUE(chunk_pages_encoded({}, ChunkerOptions{}, encode).token_ids.empty());
}

TEST(ChunkPages, DegenerateOptionsStillProgress) {
  const std::vector<Page> pages = synthetic_document(2, 9);
  for (const ChunkerOptions options : {ChunkerOptions{0, 0}, ChunkerOptions{1, 5},
                                       ChunkerOptions{10, 10}, ChunkerOptions{20, 1000}}) {
    const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, options, kEstimate);
    ASSERT_FALSE(chunks.empty());
    ChunkerOptions effective = options;
    effective.target_tokens = std::max<int64_t>(1, options.target_tokens);
    check_invariants(pages, chunks, effective, kEstimate);
  }
}

TEST(ChunkPages, ThreeHundredPagesFast) {
  const std::vector<Page> pages = synthetic_document(300, 11);
  size_t bytes = 0;
  for (const Page& p : pages) bytes += p.text.size();
  const auto start = std::chrono::steady_clock::now();
  const std::vector<index::ChunkRecord> chunks = chunk_pages(pages, ChunkerOptions{}, kEstimate);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("300 pages, %zu bytes -> %zu chunks in %.1f ms\n", bytes, chunks.size(),
              seconds * 1e3);
  check_invariants(pages, chunks, ChunkerOptions{}, kEstimate);
  // Release builds take a few milliseconds; the bound leaves room for sanitizer builds.
  EXPECT_LT(seconds, 2.0);
  EXPECT_EQ(chunks.back().page_end, 300);
}

}  // namespace
}  // namespace quire::ingest
