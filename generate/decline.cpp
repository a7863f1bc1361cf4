#include "generate/decline.h"

#include <algorithm>
#include <cstdio>

namespace quire::generate {
namespace {

bool is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Parts of a name that index words are made of ("EfficientNet-B7" -> "EfficientNet", "B7").
std::vector<std::string_view> parts(std::string_view name) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < name.size()) {
    while (i < name.size() && !is_alnum(static_cast<unsigned char>(name[i]))) ++i;
    size_t j = i;
    while (j < name.size() && is_alnum(static_cast<unsigned char>(name[j]))) ++j;
    if (j > i) out.push_back(name.substr(i, j - i));
    i = j;
  }
  return out;
}

bool has_upper(std::string_view w) {
  return std::any_of(w.begin(), w.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// "BatchNorm" -> "Batch Norm": a space before each capital that follows a lower-case letter;
// "" when there is no such capital.
std::string camel_words(std::string_view w) {
  std::string out;
  bool split = false;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i > 0 && w[i] >= 'A' && w[i] <= 'Z' && w[i - 1] >= 'a' && w[i - 1] <= 'z') {
      out += ' ';
      split = true;
    }
    out += w[i];
  }
  return split ? out : "";
}

Result<bool> name_occurs(const std::string& name, const NameLookup& occurs) {
  const std::vector<std::string_view> words = parts(name);
  if (words.size() > 1 && has_upper(words[0])) {
    // A proper name with a variant ("EfficientNet-B7", "GPT-4"): the variant must occur as the
    // phrase of its parts or written as one word; the parts occurring apart say nothing.
    std::string phrase, joined;
    for (std::string_view w : words) {
      if (!phrase.empty()) phrase += ' ';
      phrase += w;
      joined += w;
    }
    QUIRE_ASSIGN_OR_RETURN(const bool as_phrase, occurs(phrase, false));
    if (as_phrase) return true;
    return occurs(joined, false);
  }
  // Otherwise every part of three or more characters must occur somewhere ("micro-F1": "micro").
  for (std::string_view w : words) {
    if (w.size() < 3) continue;
    QUIRE_ASSIGN_OR_RETURN(bool found, occurs(w, false));
    if (!found) {
      // A camel-case contraction of words the text spells out: "BatchNorm" for "batch
      // normalization".
      const std::string spelled = camel_words(w);
      if (!spelled.empty()) {
        QUIRE_ASSIGN_OR_RETURN(found, occurs(spelled, true));
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> question_names(std::string_view question) {
  std::vector<std::string> out;
  size_t i = 0;
  int word = 0;
  while (i < question.size()) {
    while (i < question.size() && question[i] == ' ') ++i;
    size_t j = i;
    while (j < question.size() && question[j] != ' ') ++j;
    std::string_view w = question.substr(i, j - i);
    while (!w.empty() && !is_alnum(static_cast<unsigned char>(w.front()))) w.remove_prefix(1);
    while (!w.empty() && !is_alnum(static_cast<unsigned char>(w.back()))) w.remove_suffix(1);
    if (w.ends_with("'s")) w.remove_suffix(2);
    bool upper_inside = false, upper_first = false, digit = false, letter = false;
    for (size_t k = 0; k < w.size(); ++k) {
      const char c = w[k];
      if (c >= 'A' && c <= 'Z') (k == 0 ? upper_first : upper_inside) = true;
      digit = digit || (c >= '0' && c <= '9');
      letter = letter || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
    const bool name =
        w.size() >= 3 && ((word > 0 && upper_first) || upper_inside || (digit && letter));
    if (name && std::find(out.begin(), out.end(), w) == out.end()) out.emplace_back(w);
    if (!w.empty()) ++word;
    i = j;
  }
  return out;
}

Result<DeclineDecision> decide_decline(std::string_view question, double best_bm25,
                                       double idf_total, const NameLookup& occurs,
                                       const DeclineOptions& options) {
  DeclineDecision d;
  d.best_bm25 = best_bm25;
  d.evidence = idf_total > 0 ? best_bm25 / idf_total : 0;
  if (!options.enabled) return d;
  if (options.absent_names) {
    for (const std::string& name : question_names(question)) {
      QUIRE_ASSIGN_OR_RETURN(const bool found, name_occurs(name, occurs));
      if (!found) d.absent_names.push_back(name);
    }
  }
  if (!d.absent_names.empty()) {
    d.declined = true;
    d.reason = "the documents never mention ";
    for (size_t i = 0; i < d.absent_names.size(); ++i) {
      if (i > 0) d.reason += i + 1 == d.absent_names.size() ? " or " : ", ";
      d.reason += "'" + d.absent_names[i] + "'";
    }
    return d;
  }
  if (d.evidence < options.min_evidence) {
    char buf[200];
    std::snprintf(buf, sizeof(buf),
                  "no passage matches the question well enough (lexical evidence %.2f, below "
                  "the threshold %.2f)",
                  d.evidence, options.min_evidence);
    d.declined = true;
    d.reason = buf;
  }
  return d;
}

}  // namespace quire::generate
