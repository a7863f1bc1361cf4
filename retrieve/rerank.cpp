#include "retrieve/rerank.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace quire::retrieve {

RerankHook cross_encoder_hook(index::Store& store, engine::Reranker& reranker, int64_t top_n) {
  return [&store, &reranker, top_n](
             const std::string& query,
             const std::vector<index::SearchHit>& all) -> Result<std::vector<index::SearchHit>> {
    const size_t n = top_n < 0 ? all.size() : std::min(all.size(), static_cast<size_t>(top_n));
    const std::vector<index::SearchHit> hits(all.begin(), all.begin() + static_cast<long>(n));
    std::vector<int64_t> ids;
    for (const auto& h : hits) ids.push_back(h.chunk_id);
    QUIRE_ASSIGN_OR_RETURN(auto chunks, store.get_chunks(ids));
    std::unordered_map<int64_t, const index::ChunkRecord*> by_id;
    for (const auto& c : chunks) by_id[c.id] = &c;
    std::vector<int64_t> kept;
    std::vector<std::string> texts;
    for (const auto& h : hits) {
      auto it = by_id.find(h.chunk_id);
      if (it == by_id.end()) continue;
      kept.push_back(h.chunk_id);
      texts.push_back(it->second->text);
    }
    QUIRE_ASSIGN_OR_RETURN(std::vector<float> scores, reranker.score(query, texts));
    std::vector<size_t> order(kept.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    std::vector<index::SearchHit> out;
    double low = 0;
    for (size_t i : order) {
      out.push_back(index::SearchHit{kept[i], scores[i]});
      low = scores[i];
    }
    for (size_t i = n; i < all.size(); ++i) {
      low -= 1e-6;
      out.push_back(index::SearchHit{all[i].chunk_id, low});
    }
    return out;
  };
}

}  // namespace quire::retrieve
