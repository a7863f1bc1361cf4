#include "retrieve/fusion.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <unordered_map>

namespace quire::retrieve {
namespace {

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

std::vector<index::SearchHit> fuse(const std::vector<WeightedList>& lists, int64_t k,
                                   double rrf_k) {
  std::unordered_map<int64_t, double> fused;
  for (const WeightedList& list : lists) {
    if (list.weight == 0) continue;
    const std::vector<index::SearchHit>& hits = *list.hits;
    for (size_t rank = 0; rank < hits.size(); ++rank) {
      fused[hits[rank].chunk_id] += list.weight / (rrf_k + static_cast<double>(rank + 1));
    }
  }
  std::vector<index::SearchHit> out;
  out.reserve(fused.size());
  for (const auto& [id, score] : fused) out.push_back({id, score});
  std::sort(out.begin(), out.end(), [](const index::SearchHit& a, const index::SearchHit& b) {
    return a.score != b.score ? a.score > b.score : a.chunk_id < b.chunk_id;
  });
  if (static_cast<int64_t>(out.size()) > k)
    out.resize(static_cast<size_t>(std::max<int64_t>(k, 0)));
  return out;
}

}  // namespace

std::vector<index::SearchHit> reciprocal_rank_fusion(
    const std::vector<std::vector<index::SearchHit>>& lists, int64_t k, double rrf_k) {
  std::vector<WeightedList> weighted;
  weighted.reserve(lists.size());
  for (const auto& list : lists) weighted.push_back({&list, 1.0});
  return fuse(weighted, k, rrf_k);
}

Result<std::vector<index::SearchHit>> weighted_reciprocal_rank_fusion(
    const std::vector<WeightedList>& lists, int64_t k, double rrf_k) {
  if (k < 0)
    return invalid_argument_error(std::string("fusion: k is ") + std::to_string(k) +
                                  ", expected >= 0");
  if (!std::isfinite(rrf_k) || rrf_k < 0) {
    return invalid_argument_error(std::string("fusion: rrf_k is ") + number(rrf_k) +
                                  ", expected a finite number >= 0");
  }
  for (size_t i = 0; i < lists.size(); ++i) {
    if (lists[i].hits == nullptr) {
      return invalid_argument_error(std::string("fusion: list ") + std::to_string(i) + " is null");
    }
    if (!std::isfinite(lists[i].weight) || lists[i].weight < 0) {
      return invalid_argument_error(std::string("fusion: list ") + std::to_string(i) +
                                    " has weight " + number(lists[i].weight) +
                                    ", expected a finite number >= 0");
    }
  }
  return fuse(lists, k, rrf_k);
}

}  // namespace quire::retrieve
