#include "retrieve/fusion.h"

#include <algorithm>
#include <unordered_map>

namespace quire::retrieve {

std::vector<index::SearchHit> reciprocal_rank_fusion(
    const std::vector<std::vector<index::SearchHit>>& lists, int64_t k, double rrf_k) {
  std::unordered_map<int64_t, double> fused;
  for (const auto& list : lists) {
    for (size_t rank = 0; rank < list.size(); ++rank) {
      fused[list[rank].chunk_id] += 1.0 / (rrf_k + static_cast<double>(rank + 1));
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

}  // namespace quire::retrieve
