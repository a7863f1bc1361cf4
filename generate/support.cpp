#include "generate/support.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "engine/tokenizer/sentences.h"
#include "generate/citations.h"
#include "generate/lexical.h"

namespace quire::generate {

std::vector<CitedSentence> cited_sentences(std::string_view answer, int n_sources) {
  const std::vector<CitationMark> marks = parse_citations(answer, n_sources);
  std::vector<CitedSentence> out;
  size_t claimed = 0;  // marks ending here or before belong to an earlier sentence
  for (const auto& [begin, end] : engine::split_sentences(answer)) {
    CitedSentence s;
    s.begin = begin;
    s.end = end;
    // Marks inside the sentence, or right after it (before the next sentence starts).
    size_t reach = end;
    for (const CitationMark& m : marks) {
      if (m.begin == reach || (m.begin == reach + 1 && answer[reach] == ' ')) reach = m.end;
    }
    size_t cursor = begin;
    for (const CitationMark& m : marks) {
      if (m.begin < begin || m.end > reach || m.end <= claimed) continue;
      for (int n : m.numbers) {
        if (n >= 1 && n <= n_sources &&
            std::find(s.numbers.begin(), s.numbers.end(), n) == s.numbers.end()) {
          s.numbers.push_back(n);
        }
      }
      if (m.begin >= cursor && m.begin <= end) {
        s.text.append(answer.substr(cursor, m.begin - cursor));
        cursor = std::min(m.end, end);
      }
    }
    if (cursor < end) s.text.append(answer.substr(cursor, end - cursor));
    claimed = std::max(claimed, reach);
    if (!s.numbers.empty()) out.push_back(std::move(s));
  }
  return out;
}

double lexical_support(std::string_view sentence, std::string_view source_text) {
  std::vector<std::string> terms = query_terms(sentence);
  if (terms.empty()) return 1.0;  // nothing to back ("See [1].")
  const std::vector<std::string> source = text_terms(source_text);
  const std::unordered_set<std::string> present(source.begin(), source.end());
  size_t found = 0;
  for (const std::string& t : terms) found += present.count(t);
  return static_cast<double>(found) / static_cast<double>(terms.size());
}

Result<std::vector<std::vector<double>>> support_scores(const std::vector<CitedSentence>& sentences,
                                                        const std::vector<std::string>& sources,
                                                        engine::Embedder* embedder) {
  std::vector<std::vector<double>> out(sentences.size());
  std::vector<std::vector<float>> sentence_vectors, source_vectors;
  if (embedder != nullptr && !sentences.empty()) {
    std::vector<std::string> texts;
    for (const auto& s : sentences) texts.push_back(s.text);
    QUIRE_ASSIGN_OR_RETURN(sentence_vectors, embedder->embed(texts));
    QUIRE_ASSIGN_OR_RETURN(source_vectors, embedder->embed(sources));
  }
  for (size_t i = 0; i < sentences.size(); ++i) {
    for (int n : sentences[i].numbers) {
      const size_t src = static_cast<size_t>(n - 1);
      double score = lexical_support(sentences[i].text, sources[src]);
      if (!sentence_vectors.empty()) {
        double dot = 0;
        for (size_t d = 0; d < sentence_vectors[i].size(); ++d) {
          dot += static_cast<double>(sentence_vectors[i][d]) * source_vectors[src][d];
        }
        score = 0.5 * (score + std::max(0.0, dot));  // both vectors are L2-normalized
      }
      out[i].push_back(score);
    }
  }
  return out;
}

}  // namespace quire::generate
