// BERT-family sentence encoders (arch "bert": all-MiniLM, bge, e5, gte shapes).
//
// Forward pass, per llama.cpp's graph for this architecture (FORMATS.md, conformance README):
//   x = LayerNorm(token_embd[id] + position_embd[pos] + token_types[0])
//   per layer (post-norm):  x = LN(x + W_o attn(W_q x + b_q, W_k x + b_k, W_v x + b_v) + b_o)
//                           x = LN(x + W_down gelu(W_up x + b_up) + b_down)
// Attention is bidirectional within each sequence. Many sequences of different lengths run as
// one packed batch (tokens concatenated, no padding), so the products are large matrices.
// A BertModel is immutable after load and may be shared; forward() needs its own scratch.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/core/status.h"
#include "engine/core/thread_pool.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/kernels/matmul.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

// bert.pooling_type; kRank: a cross-encoder whose classification head scores [CLS] (rerankers).
enum class PoolingType : uint32_t { kNone = 0, kMean = 1, kCls = 2, kLast = 3, kRank = 4 };

struct BertHParams {
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;  // positions available (position_embd rows)
  int64_t n_token_types = 0;
  float norm_eps = 1e-12f;
  PoolingType pooling = PoolingType::kMean;
};

// Buffers reused across forward() calls; one per thread of control.
struct BertScratch {
  std::vector<float> x, q, k, v, attn, tmp, ffn;
  std::vector<std::vector<float>> attention;
  MatmulScratch matmul;
};

class BertModel {
 public:
  // Validates hyper-parameters and every tensor's presence and shape. The file must outlive the
  // model (tensors are read from its mapping).
  static Result<std::unique_ptr<BertModel>> load(const gguf::GgufFile& file);

  const BertHParams& hparams() const { return hp_; }

  // Last hidden state of every token of every sequence, packed: out has sum(len) rows of n_embd.
  // Each sequence must be 1..n_ctx_train tokens of ids < n_vocab (checked: kInvalidArgument).
  // `path` selects the matmul path (kQuantized reproduces llama.cpp's arithmetic).
  Status forward(std::span<const std::vector<TokenId>> sequences, std::vector<float>& out,
                 ThreadPool& pool, BertScratch& scratch, MatmulPath path = MatmulPath::kAuto) const;

  // A classification head (cls.weight/bias: n_embd x n_embd, cls.output.weight/bias: 1 x
  // n_embd), loaded when the file has one; required with pooling kRank.
  bool has_rank_head() const { return !head_b_.empty(); }

  // One score per sequence from the head: with h the hidden state of the sequence's first token
  // ([CLS]), score = w_o . tanh(W_d h + b_d) + b_o (W_d on `path`, the rest in f32, tanhf).
  // `hidden` is forward()'s output for the same sequences. kFailedPrecondition without a head.
  Result<std::vector<float>> rank_scores(std::span<const std::vector<TokenId>> sequences,
                                         const std::vector<float>& hidden, ThreadPool& pool,
                                         BertScratch& scratch,
                                         MatmulPath path = MatmulPath::kAuto) const;

  // Pools the hidden states of each sequence (mean or [CLS] per the model) and L2-normalizes.
  // `hidden` is forward()'s output for the same sequences; returns n_seq x n_embd.
  std::vector<float> pool_and_normalize(std::span<const std::vector<TokenId>> sequences,
                                        const std::vector<float>& hidden) const;

 private:
  struct Layer {
    WeightMatrix q, k, v, o, up, down;
    std::vector<float> bq, bk, bv, bo, b_up, b_down;
    std::vector<float> attn_norm_w, attn_norm_b, out_norm_w, out_norm_b;
  };
  BertModel() = default;

  BertHParams hp_;
  const gguf::TensorInfo* token_embd_ = nullptr;
  std::vector<float> position_embd_, token_type0_, embd_norm_w_, embd_norm_b_;
  std::vector<Layer> layers_;
  WeightMatrix head_w_;                     // cls.weight
  std::vector<float> head_b_, head_out_w_;  // cls.bias, cls.output.weight
  float head_out_b_ = 0;                    // cls.output.bias
};

}  // namespace quire::engine
