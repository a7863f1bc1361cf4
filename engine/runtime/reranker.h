// Cross-encoder rerankers: BERT-family GGUF models with a classification head (`cls.*`
// tensors, bert.pooling_type 4 = rank), as llama.cpp converts e.g. ms-marco-MiniLM-L-6-v2.
//
// A (query, passage) pair is fed as llama.cpp's /rerank feeds it:
//   BOS query-ids EOS SEP passage-ids EOS      ([CLS] q [SEP] [SEP] p [SEP] for a WordPiece vocab)
// each text tokenized alone without special tokens and with special-token parsing on, positions
// 0..n-1, token type 0 everywhere; the score is the head's raw output on [CLS] (no sigmoid).
// llama.cpp refuses a pair longer than the model's context; score() keeps the query whole and
// cuts the passage's ids so the pair fits (stats count it), score_tokens() refuses as llama.cpp.
//
// Thread-safety: score, score_tokens and pair_tokens may be called from several threads at once;
// the forward passes are serialized inside. max_tokens, name and tokenizer are const.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/core/thread_pool.h"
#include "engine/kernels/matmul.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

struct RerankerOptions {
  int threads = 0;                  // 0: all CPUs; the reranker's own pool (unused with `pool`)
  ThreadPool* pool = nullptr;       // shared pool instead (not owned; must outlive the reranker)
  int64_t max_batch_tokens = 4096;  // tokens per forward pass (pairs are packed up to this)
  // kAuto: kBlas (f32 activations: scores do not depend on batching); kQuantized reproduces
  // llama.cpp's activation rounding.
  MatmulPath matmul_path = MatmulPath::kAuto;
};

struct RerankStats {
  int64_t pairs = 0;
  int64_t tokens = 0;
  int64_t truncated = 0;  // passages cut to fit the context
  double seconds = 0;
};

class Reranker {
 public:
  virtual ~Reranker() = default;
  // One score per passage (higher: more relevant). An empty passage list gives no scores.
  virtual Result<std::vector<float>> score(std::string_view query,
                                           std::span<const std::string> passages,
                                           RerankStats* stats = nullptr) = 0;
  // Scores of pairs given as token ids (pair_tokens' layout). kInvalidArgument for an empty
  // pair, an id outside the vocabulary, or a pair longer than max_tokens().
  virtual Result<std::vector<float>> score_tokens(std::span<const std::vector<TokenId>> pairs,
                                                  RerankStats* stats = nullptr) = 0;
  // The ids score() feeds for (query, passage), before any cut.
  virtual std::vector<TokenId> pair_tokens(std::string_view query,
                                           std::string_view passage) const = 0;
  virtual int64_t max_tokens() const = 0;  // the model's context (position rows)
  virtual std::string name() const = 0;    // general.name, or the file name
  virtual const Tokenizer& tokenizer() const = 0;
};

// Opens a GGUF reranker. kFailedPrecondition for an encoder without a classification head (an
// embedding model: give it as the embedding model instead); kUnimplemented for a decoder or an
// architecture quire does not run.
Result<std::unique_ptr<Reranker>> open_reranker(const std::string& path,
                                                const RerankerOptions& options = {});

}  // namespace quire::engine
