// Retrieval evaluation on BEIR-style data: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.
//
// Thread-safety: the loaders are independent and may run at once; a MetricsAccumulator and a
// SearchTimingsAccumulator are one thread's (add() is not synchronized).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "retrieve/retriever.h"

namespace quire::retrieve {

struct BeirDocument {
  std::string id, title, text;
};
struct BeirQuery {
  std::string id, text;
};
// qrels[query id][doc id] = graded relevance (> 0 is relevant).
using Qrels = std::map<std::string, std::map<std::string, int>>;

Result<std::vector<BeirDocument>> load_beir_corpus(const std::string& dir);
Result<std::vector<BeirQuery>> load_beir_queries(const std::string& dir);
Result<Qrels> load_beir_qrels(const std::string& dir, const std::string& split);

struct RetrievalMetrics {
  int64_t queries = 0;  // judged queries evaluated
  double ndcg_at_10 = 0;
  double recall_at_10 = 0;
  double recall_at_100 = 0;
  double mrr_at_10 = 0;
};

// Accumulates per-query metrics; `ranked` is the system's ranking of document ids (best first,
// duplicates ignored). nDCG uses graded gains with log2 discounts (as BEIR's pytrec_eval).
class MetricsAccumulator {
 public:
  void add(const std::map<std::string, int>& relevant, const std::vector<std::string>& ranked);
  RetrievalMetrics result() const;

 private:
  RetrievalMetrics sum_;
};

// Per-stage search times over many queries, summarized as the median milliseconds per query.
class SearchTimingsAccumulator {
 public:
  void add(const SearchTimings& timings);
  int64_t queries() const { return static_cast<int64_t>(embed_.size()); }
  // (stage, median ms) for embed, dense, bm25, fusion, rerank, mmr, fetch and total, in that
  // order; medians are 0 with no queries (the mean of the middle two for an even count).
  std::vector<std::pair<std::string, double>> medians_ms() const;

 private:
  std::vector<double> embed_, dense_, bm25_, fusion_, rerank_, mmr_, fetch_, total_;
};

}  // namespace quire::retrieve
