#include "retrieve/candidates.h"

#include "engine/core/timer.h"

namespace quire::retrieve {

Result<Candidates> gather_candidates(index::Store& store, const std::string& query,
                                     const std::vector<float>* query_vector,
                                     const CandidateOptions& options) {
  if (options.dense_k < 0 || options.bm25_k < 0) {
    std::string message("candidates: dense_k ");
    message += std::to_string(options.dense_k);
    message += " and bm25_k ";
    message += std::to_string(options.bm25_k);
    message += ", expected >= 0";
    return invalid_argument_error(message);
  }
  QUIRE_RETURN_IF_ERROR(index::check_search_filter(options.filter));
  Candidates out;
  if (options.dense) {
    if (query_vector == nullptr) {
      return failed_precondition_error("dense search needs the query's embedding");
    }
    Timer t;
    auto dense = store.search_dense(*query_vector, options.dense_k, options.filter);
    if (!dense.ok()) return dense.status().with_context("dense search");
    out.dense = std::move(dense).value();
    out.dense_s = t.elapsed_s();
  }
  if (options.bm25) {
    Timer t;
    auto bm25 = store.search_bm25(query, options.bm25_k, options.filter);
    if (!bm25.ok()) return bm25.status().with_context("BM25 search");
    out.bm25 = std::move(bm25).value();
    out.bm25_s = t.elapsed_s();
  }
  return out;
}

}  // namespace quire::retrieve
