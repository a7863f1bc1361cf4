// Llama-family decoder LLMs (llama, qwen2, qwen3, and any architecture that is the same graph
// with different switches): one generic forward pass, parameterized by DecoderTraits that each
// architecture file declares (arch/llama.cpp, arch/qwen.cpp).
//
// Forward pass per token (llama.cpp's graph for these architectures; conformance README):
//   x = token_embd[id]
//   per layer:  h = rmsnorm(x) * attn_norm
//               q, k, v = h Wq (+bq), h Wk (+bk), h Wv (+bv)        (biases: qwen2)
//               q, k = rmsnorm per head * q_norm, k_norm               (qwen3)
//               q, k = rope(q, pos), rope(k, pos)                      (pairs or halves)
//               x += attention(q, K cache, V cache) Wo   (causal, GQA: ops/causal_attention.h)
//               h = rmsnorm(x) * ffn_norm
//               x += (silu(h Wgate) * (h Wup)) Wdown
//   logits = (rmsnorm(x) * output_norm) Wout     (Wout = token_embd when output.weight is absent)
//
// Many sequences run in one forward step (batched decoding): the tokens of every sequence in the
// step are rows of one activation matrix, so each weight matrix is read once per step for all of
// them. Results for a sequence never depend on what else is in the step: decode rows (one token
// per sequence) use the per-token quantized kernels, and each prefill chunk gets its own
// products (see forward()).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/core/thread_pool.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/kernels/matmul.h"
#include "engine/model/kv_cache.h"
#include "engine/ops/causal_attention.h"
#include "engine/ops/ops.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

// What distinguishes one llama-like architecture from another.
struct DecoderTraits {
  std::string_view arch;  // general.architecture
  ops::RopeStyle rope = ops::RopeStyle::kAdjacentPairs;
  bool qkv_bias = false;  // attn_{q,k,v}.bias present (qwen2)
  bool qk_norm = false;   // attn_{q,k}_norm.weight, RMSNorm per head before RoPE (qwen3)
  float default_rope_base = 10000.0f;
  float default_rms_eps = 1e-5f;
};

struct DecoderHParams {
  std::string arch;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  int64_t n_rot = 0;
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;
  ops::RopeStyle rope = ops::RopeStyle::kAdjacentPairs;
  bool tied_output = false;

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

// One entry of a forward step: `tokens` of sequence `seq` appended at the positions following
// what the cache already holds for it.
struct StepEntry {
  int seq = 0;
  std::span<const TokenId> tokens;
  bool all_logits = false;  // logits for every token (else only for the last one)
};

// Buffers reused across forward() calls; one per thread of control.
struct DecoderScratch {
  std::vector<float> x, h, q, k, v, attn, gate, up, logits_in;
  std::vector<int32_t> ids;
  std::vector<ops::AttentionHeadScratch> attention;  // per worker
  MatmulScratch matmul;
};

// The llama-family architectures (arch/llama.cpp, arch/qwen.cpp).
extern const DecoderTraits kLlamaTraits;
extern const DecoderTraits kQwen2Traits;
extern const DecoderTraits kQwen3Traits;

class DecoderModel {
 public:
  // Validates hyper-parameters and every tensor's presence and shape. The file must outlive the
  // model (tensors are read from its mapping).
  static Result<std::unique_ptr<DecoderModel>> load(const gguf::GgufFile& file,
                                                    const DecoderTraits& traits);

  const DecoderHParams& hparams() const { return hp_; }
  // Bytes of weights one decode step reads (every matrix once, plus one embedding row).
  uint64_t weight_bytes_per_token() const { return weight_bytes_per_token_; }

  // Runs one step: appends every entry's tokens to its sequence in `cache` and writes logits,
  // n_vocab floats per row, entry by entry: every token's row for all_logits entries, else the
  // last token's. Sequences must exist in the cache, appear at most once, and have room
  // (kResourceExhausted otherwise, nothing changed); ids must be < n_vocab (kInvalidArgument).
  // `path`: kAuto uses the integer kernels for decode rows and the per-shape choice for each
  // prefill chunk; kQuantized everywhere reproduces llama.cpp's arithmetic.
  Status forward(std::span<const StepEntry> step, KvCache& cache, std::vector<float>& logits,
                 ThreadPool& pool, DecoderScratch& scratch,
                 MatmulPath path = MatmulPath::kAuto) const;

 private:
  struct Layer {
    WeightMatrix q, k, v, o, gate, up, down;
    std::vector<float> bq, bk, bv, q_norm, k_norm, attn_norm, ffn_norm;
  };
  DecoderModel() = default;

  // y rows = W x rows, grouped so that a sequence's result never depends on the others.
  struct RowGroup {
    int64_t begin, end;
    MatmulPath path;
  };
  // Groups of rows for entries of lengths[i] rows each: runs of single-row entries share one group
  // on the per-token integer kernels (whose results do not depend on the other rows); every
  // longer entry is its own group.
  static std::vector<RowGroup> make_groups(std::span<const int64_t> lengths, MatmulPath path);
  void project(const WeightMatrix& w, const float* x, float* y, const std::vector<RowGroup>& groups,
               ThreadPool& pool, MatmulScratch& scratch) const;
  void project_multi(std::span<const WeightMatrix* const> ws, const float* x,
                     std::span<float* const> ys, const std::vector<RowGroup>& groups,
                     ThreadPool& pool, MatmulScratch& scratch) const;

  DecoderHParams hp_;
  const gguf::TensorInfo* token_embd_ = nullptr;
  WeightMatrix output_;
  std::vector<float> output_norm_;
  std::vector<Layer> layers_;
  uint64_t weight_bytes_per_token_ = 0;
};

}  // namespace quire::engine
