#include "generate/lexical.h"

#include <algorithm>
#include <cmath>

#include "engine/tokenizer/stopwords.h"

namespace quire::generate {
namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// The length of `w` without its suffix ("-ing", "-edly", "-ed", "-es", "-s", "-ly").
size_t stem_length(std::string_view w) {
  for (std::string_view suffix : {"ing", "edly", "ed", "es", "s", "ly"}) {
    if (w.size() > suffix.size() + 3 && w.ends_with(suffix)) return w.size() - suffix.size();
  }
  return w.size();
}

// Calls f(lower-cased word) for every word of `text` that is not a function word.
template <typename F>
void for_each_content_word(std::string_view text, F&& f) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && is_word_byte(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) {
      std::string w;
      w.reserve(j - i);
      for (size_t k = i; k < j; ++k) {
        const char c = text[k];
        w.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
      }
      if (!is_function_word(w)) f(std::move(w));
    }
    i = j;
  }
}

template <typename F>
void for_each_word(std::string_view text, F&& f) {
  for_each_content_word(text, [&](std::string w) { f(w.substr(0, stem_length(w))); });
}

}  // namespace

std::vector<std::string> text_terms(std::string_view text) {
  std::vector<std::string> out;
  for_each_word(text, [&](std::string w) { out.push_back(std::move(w)); });
  return out;
}

std::vector<std::string> query_terms(std::string_view question) {
  std::vector<std::string> out;
  for_each_word(question, [&](std::string w) {
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
  });
  return out;
}

std::vector<std::string> content_words(std::string_view question) {
  std::vector<std::string> out;
  for_each_content_word(question, [&](std::string w) {
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
  });
  return out;
}

LocalBm25::LocalBm25(std::vector<std::vector<std::string>> units, std::vector<std::string> query)
    : units_(std::move(units)), query_(std::move(query)) {
  const double n_units = static_cast<double>(units_.size());
  size_t total_length = 0;
  for (const auto& u : units_) total_length += u.size();
  avg_length_ = units_.empty() ? 1.0 : std::max(1.0, static_cast<double>(total_length) / n_units);
  for (const std::string& t : query_) {
    double df = 0;
    for (const auto& u : units_) df += std::find(u.begin(), u.end(), t) != u.end() ? 1 : 0;
    idf_.push_back(std::log(1.0 + (n_units - df + 0.5) / (df + 0.5)));
    idf_total_ += idf_.back();
  }
}

double LocalBm25::score(size_t unit) const {
  if (idf_total_ <= 0) return 0;
  const auto& u = units_[unit];
  constexpr double k1 = 1.2, b = 0.75;
  const double norm = k1 * (1 - b + b * static_cast<double>(u.size()) / avg_length_);
  double s = 0;
  for (size_t q = 0; q < query_.size(); ++q) {
    const double tf = static_cast<double>(std::count(u.begin(), u.end(), query_[q]));
    if (tf > 0) s += idf_[q] * tf * (k1 + 1) / (tf + norm);
  }
  return s / idf_total_;
}

double LocalBm25::coverage(size_t unit) const {
  if (idf_total_ <= 0) return 0;
  const auto& u = units_[unit];
  double s = 0;
  for (size_t q = 0; q < query_.size(); ++q) {
    if (std::find(u.begin(), u.end(), query_[q]) != u.end()) s += idf_[q];
  }
  return s / idf_total_;
}

}  // namespace quire::generate
