#include "generate/extractive.h"

#include <algorithm>

#include "engine/tokenizer/sentences.h"
#include "generate/lexical.h"

namespace quire::generate {
namespace {

// Prose, not a table row, heading or reference entry: six words or more, 60% of them made of
// letters (with trailing punctuation).
bool is_prose(std::string_view s) {
  int words = 0, alphabetic = 0;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    if (i >= s.size()) break;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\n') ++j;
    ++words;
    const std::string_view w = s.substr(i, j - i);
    const unsigned char c0 = static_cast<unsigned char>(w[0]);
    bool letters = (c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') || c0 >= 0x80;
    for (char c : w) {
      const unsigned char u = static_cast<unsigned char>(c);
      const bool ok = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u >= 0x80 || c == '\'' ||
                      c == ',' || c == '.' || c == ';' || c == ':' || c == '(' || c == ')' ||
                      c == '-';
      letters = letters && ok;
    }
    alphabetic += letters ? 1 : 0;
    i = j;
  }
  return words >= 6 && alphabetic * 10 >= words * 6;
}

struct Window {
  size_t source;
  size_t first;  // index into that source's sentences
  size_t count;
};

}  // namespace

ExtractiveAnswer extract_answer(std::string_view question,
                                const std::vector<retrieve::PackedSource>& sources,
                                const ExtractOptions& options) {
  ExtractiveAnswer answer;
  if (sources.empty()) return answer;
  std::vector<std::vector<std::pair<size_t, size_t>>> sentences(sources.size());
  std::vector<Window> windows;
  std::vector<std::vector<std::string>> units;
  const size_t window = static_cast<size_t>(std::max(1, options.window));
  for (size_t s = 0; s < sources.size(); ++s) {
    sentences[s] = engine::split_sentences(sources[s].text);
    for (size_t i = 0; i < sentences[s].size(); ++i) {
      const size_t count = std::min(window, sentences[s].size() - i);
      const size_t begin = sentences[s][i].first, end = sentences[s][i + count - 1].second;
      windows.push_back({s, i, count});
      units.push_back(text_terms(std::string_view(sources[s].text).substr(begin, end - begin)));
    }
  }
  if (windows.empty()) return answer;
  // Single sentences too, to say which sentence of the best window answers.
  std::vector<std::vector<std::string>> sentence_units;
  std::vector<size_t> first_unit(sources.size(), 0);
  for (size_t s = 0; s < sources.size(); ++s) {
    first_unit[s] = sentence_units.size();
    for (const auto& [a, b] : sentences[s]) {
      sentence_units.push_back(text_terms(std::string_view(sources[s].text).substr(a, b - a)));
    }
  }
  const std::vector<std::string> query = query_terms(question);
  const LocalBm25 sentence_bm25(std::move(sentence_units), query);
  const LocalBm25 bm25(std::move(units), query);
  // Best window per source.
  std::vector<double> best_window(sources.size(), -1);
  std::vector<size_t> best_index(sources.size(), 0);
  double top_window = 0;
  for (size_t w = 0; w < windows.size(); ++w) {
    const Window& win = windows[w];
    const auto [a, b] = sentences[win.source][win.first];
    double s = bm25.score(w);
    if (!is_prose(std::string_view(sources[win.source].text).substr(a, b - a))) s *= 0.5;
    if (s > best_window[win.source]) {
      best_window[win.source] = s;
      best_index[win.source] = w;
    }
    top_window = std::max(top_window, s);
  }
  // The retrieval prior: the score relative to the best source's. A cross-encoder's scores
  // may be negative: then rescale them to [0, 1] first.
  double top_prior = 0, low_prior = 0;
  for (const auto& src : sources) {
    top_prior = std::max(top_prior, src.score);
    low_prior = std::min(low_prior, src.score);
  }
  auto prior_of = [&](double score) {
    if (low_prior < 0)
      return top_prior > low_prior ? (score - low_prior) / (top_prior - low_prior) : 1.0;
    return top_prior > 0 ? score / top_prior : 0.0;
  };
  std::vector<std::pair<double, size_t>> ranked;
  for (size_t s = 0; s < sources.size(); ++s) {
    if (best_window[s] < 0) continue;
    const double prior = prior_of(sources[s].score);
    const double lexical = top_window > 0 ? best_window[s] / top_window : 0;
    ranked.emplace_back(options.prior_weight * prior + (1 - options.prior_weight) * lexical, s);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  int left = options.max_sentences;
  for (size_t r = 0; r < ranked.size() && left > 0; ++r) {
    const auto [score, s] = ranked[r];
    if (r > 0 && score < options.min_relative * ranked[0].first) break;
    const Window& win = windows[best_index[s]];
    // One sentence per source (more sources, more chances to cite the right page): the best
    // single sentence of its best window.
    size_t pick = win.first;
    for (size_t i = win.first + 1; i < win.first + win.count; ++i) {
      if (sentence_bm25.score(first_unit[s] + i) > sentence_bm25.score(first_unit[s] + pick)) {
        pick = i;
      }
    }
    const size_t begin = sentences[s][pick].first;
    const size_t end = sentences[s][pick].second;
    ExtractedSpan span;
    span.source_number = sources[s].number;
    span.char_start = sources[s].char_start + static_cast<int64_t>(begin);
    span.char_end = sources[s].char_start + static_cast<int64_t>(end);
    span.text = sources[s].text.substr(begin, end - begin);
    for (char& c : span.text) {
      if (c == '\n') c = ' ';
    }
    span.score = score;
    --left;
    if (!answer.text.empty()) answer.text += " ";
    answer.text += span.text + " [" + std::to_string(span.source_number) + "]";
    answer.spans.push_back(std::move(span));
  }
  return answer;
}

}  // namespace quire::generate
