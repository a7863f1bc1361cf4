// Causal multi-head attention of decoder tokens over their sequence's KV cache (llama, qwen2,
// qwen3), with grouped-query heads, in the arithmetic of llama.cpp's CPU backend for each cache
// type. The bidirectional attention of encoders is in attention.h.
//
// For a query head q (head_dim floats) at position p, with the cached rows k_j, v_j of its KV head
// at positions j = 0..p (the causal mask: a token sees itself and what precedes it):
//   out = sum_j softmax_j(q . k_j / sqrt(head_dim)) v_j
// The cache stores K and V in one of three types, and each is computed as llama.cpp computes it
// (the conformance goldens are bit-identical with the AVX2 kernels):
//   F32   f32 dots, softmax, f32 accumulation of P.V;
//   F16   llama.cpp's default (no flash attention): Q rounded to f16 for K.Q, softmax in f32, the
//         probabilities rounded to f16 for P.V, f32 accumulation in the order of ggml's kernels,
//         which differs between a one-token step and a prompt chunk (F16Order);
//   Q8_0  llama.cpp's flash-attention semantics: Q quantized to Q8_0, integer K.Q, online softmax
//         in f32 with expf, V rows dequantized and accumulated in f32.
// All run through the kernel set in use (kernels(), ops' dispatch), so QUIRE_CPU=generic gives the
// reference arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/quant/ggml_type.h"

namespace quire::engine::ops {

// The cached K (or V) rows of one KV head: position j's head_dim values, in the cache's type
// (F32 floats, F16 binary16 bit patterns, or Q8_0 blocks), start at data + j * row_stride bytes.
struct KvHeadRows {
  const uint8_t* data = nullptr;
  size_t row_stride = 0;  // bytes

  const uint8_t* row(int64_t pos) const { return data + static_cast<size_t>(pos) * row_stride; }
};

// Buffers of one caller (one worker of a pool), grown as needed and reused across calls.
struct AttentionHeadScratch {
  std::vector<float> scores;   // n_kv scores, then (Q8_0) one dequantized V row
  std::vector<uint8_t> query;  // q rounded to F16 or quantized to Q8_0
  std::vector<float> acc;      // F16: the partial sums of P.V, parts x head_dim
};

// The accumulation order of llama.cpp's F16 attention, which depends on the batch it runs:
//   kOneToken  a one-token step: K.Q and P.V both in ggml_vec_dot_f16's order (dot_f16_ggml; P.V
//              as 32 partial sums, one per position mod 32, reduced as that kernel's lanes);
//   kPrompt    a prompt chunk: K.Q as dot_f16 (4 x 8 accumulators), P.V as 8 partial sums (one
//              per position mod 8) reduced ((4 + 0) + (6 + 2)) + ((5 + 1) + (7 + 3)).
enum class F16Order { kOneToken, kPrompt };

// One query head q[head_dim] against cached positions [0, n_kv) (n_kv >= 1) of one KV head:
// out[head_dim] = softmax(q k^T / sqrt(head_dim)) v, for a cache of the type in the name.
// Q8_0 needs head_dim a multiple of 32 (whole blocks per head, as KvCache checks). out may not
// alias q or the rows. Thread-safe for distinct `out` and `scratch`: the rows are only read.
void attention_head_f32(const float* q, KvHeadRows k, KvHeadRows v, int64_t n_kv, int64_t head_dim,
                        float* out, AttentionHeadScratch& scratch);
void attention_head_f16(const float* q, KvHeadRows k, KvHeadRows v, int64_t n_kv, int64_t head_dim,
                        F16Order order, float* out, AttentionHeadScratch& scratch);
void attention_head_q8_0(const float* q, KvHeadRows k, KvHeadRows v, int64_t n_kv, int64_t head_dim,
                         float* out, AttentionHeadScratch& scratch);

// The tokens of one sequence in a step: rows [first_row, first_row + n_tokens) of q and out, at
// positions n_past .. n_past + n_tokens - 1. Its cache rows (already holding these tokens' K and
// V) are positions [0, n_past + n_tokens) of k and v: position j, KV head h at
// {k, v} + j * row_stride + h * ggml_row_size(kv_type, head_dim) (heads contiguous in a row, as in
// KvCache and llama.cpp).
struct CausalChunk {
  int64_t first_row = 0;
  int64_t n_tokens = 0;
  int64_t n_past = 0;
  const uint8_t* k = nullptr;
  const uint8_t* v = nullptr;
  size_t row_stride = 0;  // bytes between positions, for k and v
};

// Causal grouped-query attention of a step of many sequences. q and out hold one row of
// n_head * head_dim floats per token (query head h at h * head_dim); query head h reads KV head
// h / (n_head / n_head_kv) (n_head a multiple of n_head_kv). `chunks` are in row order, each
// starting where the previous one ends (the first at row 0). kv_type is F32, F16 or Q8_0; an F16
// chunk of one token runs F16Order::kOneToken, a longer one kPrompt (as llama.cpp, whose kernels
// depend on the batch), so a sequence's result never depends on the other chunks of the step.
// One task per (row, query head) on `pool`; `scratch` is resized to one entry per worker. Not
// thread-safe for one `scratch`; the cache rows must not change during the call.
void attention_causal(GgmlType kv_type, const float* q, float* out, int64_t n_head,
                      int64_t n_head_kv, int64_t head_dim, std::span<const CausalChunk> chunks,
                      ThreadPool& pool, std::vector<AttentionHeadScratch>& scratch);

}  // namespace quire::engine::ops
