#include "retrieve/eval.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace quire::retrieve {
namespace {

Result<std::vector<nlohmann::json>> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) return not_found_error("cannot read '" + path + "'");
  std::vector<nlohmann::json> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      return invalid_argument_error("'" + path + "' line " + std::to_string(n) + ": " + e.what());
    }
  }
  return out;
}

std::string string_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  const auto& v = j[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

Result<std::vector<BeirDocument>> load_beir_corpus(const std::string& dir) {
  QUIRE_ASSIGN_OR_RETURN(auto lines, read_jsonl(dir + "/corpus.jsonl"));
  std::vector<BeirDocument> out;
  for (const auto& j : lines) {
    out.push_back({string_field(j, "_id"), string_field(j, "title"), string_field(j, "text")});
  }
  return out;
}

Result<std::vector<BeirQuery>> load_beir_queries(const std::string& dir) {
  QUIRE_ASSIGN_OR_RETURN(auto lines, read_jsonl(dir + "/queries.jsonl"));
  std::vector<BeirQuery> out;
  for (const auto& j : lines) out.push_back({string_field(j, "_id"), string_field(j, "text")});
  return out;
}

Result<Qrels> load_beir_qrels(const std::string& dir, const std::string& split) {
  const std::string path = dir + "/qrels/" + split + ".tsv";
  std::ifstream in(path);
  if (!in) return not_found_error("cannot read '" + path + "'");
  Qrels qrels;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || (n == 1 && line.rfind("query-id", 0) == 0)) continue;
    std::istringstream fields(line);
    std::string q, d;
    int score = 0;
    if (!(fields >> q >> d >> score)) {
      return invalid_argument_error("'" + path + "' line " + std::to_string(n) +
                                    ": expected 'query-id corpus-id score'");
    }
    qrels[q][d] = score;
  }
  return qrels;
}

void MetricsAccumulator::add(const std::map<std::string, int>& relevant,
                             const std::vector<std::string>& ranked_in) {
  // Drop duplicates, keeping first occurrences.
  std::vector<std::string> ranked;
  std::set<std::string> seen;
  for (const auto& d : ranked_in) {
    if (seen.insert(d).second) ranked.push_back(d);
  }
  auto gain = [&](const std::string& d) {
    auto it = relevant.find(d);
    return it == relevant.end() ? 0 : std::max(0, it->second);
  };
  int64_t n_relevant = 0;
  std::vector<int> ideal;
  for (const auto& [d, g] : relevant) {
    if (g > 0) {
      ++n_relevant;
      ideal.push_back(g);
    }
  }
  if (n_relevant == 0) return;
  std::sort(ideal.rbegin(), ideal.rend());
  double dcg = 0, idcg = 0, mrr = 0;
  int64_t hits10 = 0, hits100 = 0;
  for (size_t i = 0; i < ranked.size() && i < 100; ++i) {
    const int g = gain(ranked[i]);
    if (g <= 0) continue;
    if (i < 10) {
      dcg += g / std::log2(static_cast<double>(i) + 2.0);
      ++hits10;
      if (mrr == 0) mrr = 1.0 / static_cast<double>(i + 1);
    }
    ++hits100;
  }
  for (size_t i = 0; i < ideal.size() && i < 10; ++i) {
    idcg += ideal[i] / std::log2(static_cast<double>(i) + 2.0);
  }
  sum_.queries += 1;
  sum_.ndcg_at_10 += idcg > 0 ? dcg / idcg : 0;
  sum_.recall_at_10 += static_cast<double>(hits10) / static_cast<double>(n_relevant);
  sum_.recall_at_100 += static_cast<double>(hits100) / static_cast<double>(n_relevant);
  sum_.mrr_at_10 += mrr;
}

RetrievalMetrics MetricsAccumulator::result() const {
  RetrievalMetrics m = sum_;
  if (m.queries > 0) {
    const double n = static_cast<double>(m.queries);
    m.ndcg_at_10 /= n;
    m.recall_at_10 /= n;
    m.recall_at_100 /= n;
    m.mrr_at_10 /= n;
  }
  return m;
}

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

}  // namespace

void SearchTimingsAccumulator::add(const SearchTimings& t) {
  embed_.push_back(t.embed_s * 1e3);
  dense_.push_back(t.dense_s * 1e3);
  bm25_.push_back(t.bm25_s * 1e3);
  fusion_.push_back(t.fusion_s * 1e3);
  rerank_.push_back(t.rerank_s * 1e3);
  mmr_.push_back(t.mmr_s * 1e3);
  fetch_.push_back(t.fetch_s * 1e3);
  total_.push_back(t.total_s * 1e3);
}

std::vector<std::pair<std::string, double>> SearchTimingsAccumulator::medians_ms() const {
  return {{"embed", median(embed_)},   {"dense", median(dense_)},   {"bm25", median(bm25_)},
          {"fusion", median(fusion_)}, {"rerank", median(rerank_)}, {"mmr", median(mmr_)},
          {"fetch", median(fetch_)},   {"total", median(total_)}};
}

}  // namespace quire::retrieve
