#include "ingest/chunker.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/tokenizer/sentences.h"

namespace quire::ingest {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}
bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_word_byte(char c) {
  return is_ascii_alnum(c) || static_cast<unsigned char>(c) >= 0x80;
}

// A piece of the document that chunks are made of: a sentence, or a word-aligned part of a
// sentence longer than the target. [start, end) never begins or ends with a space.
struct Unit {
  int64_t start = 0;
  int64_t end = 0;
  int64_t tokens = 0;            // count_tokens(text) minus the counter's fixed cost
  bool paragraph_start = false;  // first unit of a paragraph (or page)
};

// A chunk as the chunker finds it: units [first, last], its measured size and, when the chunker
// has an encoder, its token ids.
struct ChunkSpan {
  size_t first = 0;
  size_t last = 0;
  int64_t n_tokens = 0;
  std::vector<engine::TokenId> token_ids;
};

class Chunker {
 public:
  // `encode` (may be null) measures whole chunks instead of `count`, as encode(text).size() -
  // special_tokens, and their ids are kept.
  Chunker(std::string_view text, const ChunkerOptions& options, const TokenCounter& count,
          const TokenEncoder* encode = nullptr, int64_t special_tokens = 0)
      : text_(text), count_(count), encode_(encode), special_tokens_(special_tokens) {
    target_ = std::max<int64_t>(1, options.target_tokens);
    overlap_ = std::clamp<int64_t>(options.overlap_tokens, 0, target_ - 1);
    fixed_cost_ = std::max<int64_t>(0, count_(std::string_view()));
    budget_ = std::max<int64_t>(1, target_ - fixed_cost_);
  }

  std::vector<ChunkSpan> run() {
    build_units();
    std::vector<ChunkSpan> chunks;
    size_t next = 0;  // first unit not yet in any chunk
    while (next < units_.size()) {
      size_t first = next;
      int64_t sum = 0;
      if (!chunks.empty() && overlap_ > 0) {
        // Trailing whole units of the previous chunk, up to overlap_ tokens; never its first
        // unit, so that every chunk moves forward.
        const size_t prev_first = chunks.back().first;
        const size_t prev_last = chunks.back().last;
        for (size_t j = prev_last; j > prev_first; --j) {
          if (sum + units_[j].tokens > overlap_) break;
          sum += units_[j].tokens;
          first = j;
        }
      }
      // The next unit must fit: drop overlap from the front until it does.
      while (first < next && sum + units_[next].tokens > budget_) sum -= units_[first++].tokens;
      size_t end = next + 1;
      sum += units_[next].tokens;
      while (end < units_.size() && sum + units_[end].tokens <= budget_)
        sum += units_[end++].tokens;
      // Prefer to end at a paragraph boundary when one leaves the chunk at least half full.
      if (end < units_.size() && !units_[end].paragraph_start) {
        int64_t prefix = 0;
        size_t best = 0;
        for (size_t j = first; j < end; ++j) {
          if (j > next && units_[j].paragraph_start && prefix * 2 >= budget_) best = j;
          prefix += units_[j].tokens;
        }
        if (best != 0) end = best;
      }
      // Summed pieces can undercount the whole (a tokenizer merges across pieces): measure the
      // chunk and shrink it while it is over the target and more than one unit long. The last
      // measurement is the chunk's size (and, with an encoder, its ids).
      ChunkSpan chunk;
      for (;;) {
        if (encode_ != nullptr) {
          chunk.token_ids = (*encode_)(span(first, end - 1));
          chunk.n_tokens = static_cast<int64_t>(chunk.token_ids.size()) - special_tokens_;
        } else {
          chunk.n_tokens = count_(span(first, end - 1));
        }
        if (chunk.n_tokens <= target_ || (end - first) == 1) break;
        if (end - 1 > next) {
          --end;
        } else {
          ++first;  // only overlap is left to give up
        }
      }
      chunk.first = first;
      chunk.last = end - 1;
      chunks.push_back(std::move(chunk));
      next = end;
    }
    return chunks;
  }

  std::string_view span(size_t first, size_t last) const {
    return text_.substr(static_cast<size_t>(units_[first].start),
                        static_cast<size_t>(units_[last].end - units_[first].start));
  }
  const std::vector<Unit>& units() const { return units_; }

 private:
  int64_t measure(size_t start, size_t end) const {
    return std::max<int64_t>(0, count_(text_.substr(start, end - start)) - fixed_cost_);
  }

  void build_units() {
    std::vector<std::pair<size_t, size_t>> sentences;
    size_t pos = 0;
    while (pos < text_.size()) {
      while (pos < text_.size() && is_space(text_[pos])) ++pos;
      if (pos >= text_.size()) break;
      // A paragraph ends at a blank line: a whitespace run holding two or more newlines.
      size_t end = pos;
      size_t content_end = pos;
      while (end < text_.size()) {
        if (!is_space(text_[end])) {
          content_end = ++end;
          continue;
        }
        size_t run = end;
        int newlines = 0;
        while (run < text_.size() && is_space(text_[run])) newlines += text_[run++] == '\n';
        if (newlines >= 2 || run >= text_.size()) break;
        end = run;
      }
      sentences.clear();
      engine::split_sentences(text_, pos, content_end, sentences);
      bool paragraph_start = true;
      for (const auto& [s, e] : sentences) {
        add_sentence(s, e, paragraph_start);
        paragraph_start = false;
      }
      pos = content_end;
    }
  }

  void add_sentence(size_t start, size_t end, bool paragraph_start) {
    const int64_t tokens = measure(start, end);
    if (tokens <= budget_) {
      units_.push_back(
          {static_cast<int64_t>(start), static_cast<int64_t>(end), tokens, paragraph_start});
      return;
    }
    // Longer than a chunk: word-aligned pieces, each the longest run of words that measures at
    // most budget_ (found by doubling then bisecting, so a piece costs O(log words) counts); a
    // single word longer than the budget is a piece of its own.
    std::vector<std::pair<size_t, size_t>> words;
    for (size_t pos = start; pos < end;) {
      size_t word_end = pos;
      while (word_end < end && !is_space(text_[word_end])) ++word_end;
      words.emplace_back(pos, word_end);
      pos = word_end;
      while (pos < end && is_space(text_[pos])) ++pos;
    }
    const size_t n = words.size();
    size_t w = 0;
    while (w < n) {
      auto fits = [&](size_t k) {
        return measure(words[w].first, words[w + k - 1].second) <= budget_;
      };
      size_t lo = 1;  // taken even when it does not fit: one word is never split
      size_t hi = 2;  // first size known not to fit, or past the end
      while (w + hi <= n && fits(hi)) {
        lo = hi;
        hi *= 2;
      }
      hi = std::min(hi, n - w + 1);
      while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        if (fits(mid)) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
      const size_t piece_start = words[w].first;
      const size_t piece_end = words[w + lo - 1].second;
      units_.push_back({static_cast<int64_t>(piece_start), static_cast<int64_t>(piece_end),
                        measure(piece_start, piece_end), paragraph_start});
      paragraph_start = false;
      w += lo;
    }
  }

  std::string_view text_;
  const TokenCounter& count_;
  const TokenEncoder* encode_;
  int64_t special_tokens_;
  int64_t target_ = 0;
  int64_t overlap_ = 0;
  int64_t fixed_cost_ = 0;
  int64_t budget_ = 0;
  std::vector<Unit> units_;
};

}  // namespace

int64_t estimate_tokens(std::string_view text) {
  int64_t words = 0;
  int64_t punctuation = 0;
  bool in_word = false;
  for (char c : text) {
    if (is_word_byte(c)) {
      if (!in_word) ++words;
      in_word = true;
    } else {
      in_word = false;
      if (!is_space(c)) ++punctuation;
    }
  }
  return (words * 13 + 9) / 10 + punctuation;
}

std::string document_text(const std::vector<Page>& pages) {
  size_t total = 0;
  for (const Page& page : pages) total += page.text.size() + 2;
  std::string text;
  text.reserve(total);
  for (size_t i = 0; i < pages.size(); ++i) {
    if (i > 0) text += "\n\n";
    text += pages[i].text;
  }
  return text;
}

std::vector<int64_t> page_starts(const std::vector<Page>& pages) {
  std::vector<int64_t> out;
  int64_t at = 0;
  for (const Page& page : pages) {
    out.push_back(at);
    at += static_cast<int64_t>(page.text.size()) + 2;  // the "\n\n" joining the next page
  }
  return out;
}

namespace {

EncodedChunks chunk_document(const std::vector<Page>& pages, const ChunkerOptions& options,
                             const TokenCounter& count, const TokenEncoder* encode,
                             int64_t special_tokens) {
  const std::string text = document_text(pages);
  std::vector<int64_t> page_starts;  // offset of each page's text in `text`
  page_starts.reserve(pages.size());
  int64_t offset = 0;
  for (const Page& page : pages) {
    page_starts.push_back(offset);
    offset += static_cast<int64_t>(page.text.size()) + 2;
  }
  auto page_at = [&](int64_t position) -> int64_t {
    const auto it = std::upper_bound(page_starts.begin(), page_starts.end(), position);
    return pages[static_cast<size_t>(it - page_starts.begin()) - 1].number;
  };

  Chunker chunker(text, options, count, encode, special_tokens);
  std::vector<ChunkSpan> spans = chunker.run();

  EncodedChunks out;
  out.chunks.reserve(spans.size());
  if (encode != nullptr) out.token_ids.reserve(spans.size());
  for (ChunkSpan& s : spans) {
    index::ChunkRecord chunk;
    chunk.ord = static_cast<int64_t>(out.chunks.size());
    chunk.char_start = chunker.units()[s.first].start;
    chunk.char_end = chunker.units()[s.last].end;
    chunk.text = std::string(chunker.span(s.first, s.last));
    chunk.n_tokens = s.n_tokens;
    chunk.page_start = page_at(chunk.char_start);
    chunk.page_end = page_at(chunk.char_end - 1);
    out.chunks.push_back(std::move(chunk));
    if (encode != nullptr) out.token_ids.push_back(std::move(s.token_ids));
  }
  return out;
}

}  // namespace

std::vector<index::ChunkRecord> chunk_pages(const std::vector<Page>& pages,
                                            const ChunkerOptions& options,
                                            const TokenCounter& count_tokens) {
  const TokenCounter estimate = [](std::string_view s) { return estimate_tokens(s); };
  return chunk_document(pages, options, count_tokens ? count_tokens : estimate, nullptr, 0).chunks;
}

EncodedChunks chunk_pages_encoded(const std::vector<Page>& pages, const ChunkerOptions& options,
                                  const TokenEncoder& encode) {
  const int64_t special_tokens = static_cast<int64_t>(encode(std::string_view()).size());
  const TokenCounter count = [&](std::string_view s) {
    return static_cast<int64_t>(encode(s).size()) - special_tokens;
  };
  return chunk_document(pages, options, count, &encode, special_tokens);
}

}  // namespace quire::ingest
