#include "retrieve/context_pack.h"

#include <algorithm>

namespace quire::retrieve {
namespace {

// A source under construction: its pieces in document order.
struct Group {
  std::vector<const SearchResult*> pieces;
  double score = 0;
};

bool touches(const PackedSource& s, const index::ChunkRecord& c) {
  return c.char_start <= s.char_end && c.char_end >= s.char_start;
}

// The source made of `pieces` (same document, sorted by char_start, each touching the union
// of those before it).
PackedSource build(const std::vector<const SearchResult*>& pieces, double score) {
  PackedSource s;
  const SearchResult& first = *pieces.front();
  s.doc_id = first.chunk.doc_id;
  s.path = first.document.path;
  s.title = first.document.title;
  s.char_start = first.chunk.char_start;
  s.char_end = first.chunk.char_start;
  s.page_start = first.chunk.page_start;
  s.page_end = first.chunk.page_end;
  s.score = score;
  for (const SearchResult* p : pieces) {
    const index::ChunkRecord& c = p->chunk;
    if (c.char_end > s.char_end) {
      // chunk.text is the document's text over [char_start, char_end): append what is new.
      const int64_t skip = std::max<int64_t>(0, s.char_end - c.char_start);
      if (skip < static_cast<int64_t>(c.text.size())) {
        s.text.append(c.text, static_cast<size_t>(skip), std::string::npos);
      }
      s.char_end = c.char_end;
    }
    s.page_start = std::min(s.page_start, c.page_start);
    s.page_end = std::max(s.page_end, c.page_end);
    s.chunk_ids.push_back(c.id);
  }
  return s;
}

std::vector<const SearchResult*> with_piece(std::vector<const SearchResult*> pieces,
                                            const SearchResult* extra) {
  pieces.push_back(extra);
  std::sort(pieces.begin(), pieces.end(), [](const SearchResult* a, const SearchResult* b) {
    return a->chunk.char_start != b->chunk.char_start ? a->chunk.char_start < b->chunk.char_start
                                                      : a->chunk.char_end < b->chunk.char_end;
  });
  return pieces;
}

}  // namespace

Result<std::vector<PackedSource>> pack_context(const std::vector<SearchResult>& ranked,
                                               const PackOptions& options,
                                               const SourceTokenCounter& source_tokens) {
  if (options.budget_tokens < 1) return invalid_argument_error("the token budget must be >= 1");
  if (options.max_sources < 1) return invalid_argument_error("max_sources must be >= 1");
  std::vector<Group> groups;
  std::vector<PackedSource> built;  // built[i] is groups[i] as a source, with its tokens
  int64_t total = 0;
  for (size_t r = 0; r < ranked.size(); ++r) {
    const SearchResult& result = ranked[r];
    // The first source it touches merges it; a chunk that bridges two sources is taken into
    // the first only (the other keeps its number).
    size_t target = groups.size();
    for (size_t g = 0; g < groups.size(); ++g) {
      if (built[g].doc_id == result.chunk.doc_id && touches(built[g], result.chunk)) {
        target = g;
        break;
      }
    }
    if (target < groups.size()) {
      auto pieces = with_piece(groups[target].pieces, &result);
      PackedSource grown = build(pieces, groups[target].score);
      if (grown.char_start == built[target].char_start &&
          grown.char_end == built[target].char_end) {
        // Inside what the source already holds: nothing to pay.
        groups[target].pieces = std::move(pieces);
        built[target].chunk_ids = std::move(grown.chunk_ids);
        continue;
      }
      grown.tokens = source_tokens(grown);
      const int64_t delta = grown.tokens - built[target].tokens;
      if (total + delta > options.budget_tokens) continue;
      total += delta;
      groups[target].pieces = std::move(pieces);
      built[target] = std::move(grown);
      continue;
    }
    if (static_cast<int>(groups.size()) >= options.max_sources) continue;
    PackedSource fresh = build({&result}, result.score);
    fresh.tokens = source_tokens(fresh);
    if (total + fresh.tokens > options.budget_tokens) {
      if (r == 0) {
        return resource_exhausted_error("the best source needs " + std::to_string(fresh.tokens) +
                                        " tokens of context, more than the budget of " +
                                        std::to_string(options.budget_tokens) +
                                        " (raise --budget)");
      }
      continue;
    }
    total += fresh.tokens;
    groups.push_back(Group{{&result}, result.score});
    built.push_back(std::move(fresh));
  }
  for (size_t g = 0; g < built.size(); ++g) built[g].number = static_cast<int>(g + 1);
  return built;
}

std::vector<SearchResult> remove_overlapping(std::vector<SearchResult> ranked, double min_covered) {
  std::vector<SearchResult> kept;
  for (SearchResult& r : ranked) {
    const int64_t length = std::max<int64_t>(1, r.chunk.char_end - r.chunk.char_start);
    // Characters of r covered by kept chunks of its document (kept chunks may overlap each
    // other; count the union by sweeping the sorted intervals).
    std::vector<std::pair<int64_t, int64_t>> cover;
    for (const SearchResult& k : kept) {
      if (k.chunk.doc_id != r.chunk.doc_id) continue;
      const int64_t a = std::max(k.chunk.char_start, r.chunk.char_start);
      const int64_t b = std::min(k.chunk.char_end, r.chunk.char_end);
      if (a < b) cover.emplace_back(a, b);
    }
    std::sort(cover.begin(), cover.end());
    int64_t covered = 0, reach = r.chunk.char_start;
    for (const auto& [a, b] : cover) {
      const int64_t from = std::max(a, reach);
      if (b > from) covered += b - from;
      reach = std::max(reach, b);
    }
    if (static_cast<double>(covered) >= min_covered * static_cast<double>(length)) continue;
    kept.push_back(std::move(r));
  }
  return kept;
}

}  // namespace quire::retrieve
