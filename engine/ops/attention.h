// Multi-head attention over f32 activations: bidirectional, within packed sequences (encoders).
// The causal attention of decoders over a KV cache is in causal_attention.h.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/thread_pool.h"

namespace quire::engine::ops {

// Bidirectional attention within each sequence of a packed batch (BERT). Tokens of sequence s
// occupy rows [offsets[s], offsets[s+1]) of q, k, v and out, each row n_head * head_dim floats
// (row stride `ld`). For each sequence and head: out = softmax(q k^T / sqrt(head_dim)) v.
// Tokens never attend across sequences, so a batch gives the same result as each sequence alone.
// `scratch` is resized as needed (per-thread score matrices).
void attention_bidirectional(const float* q, const float* k, const float* v, float* out, int64_t ld,
                             const std::vector<int64_t>& offsets, int64_t n_head, int64_t head_dim,
                             ThreadPool& pool, std::vector<std::vector<float>>& scratch);

}  // namespace quire::engine::ops
