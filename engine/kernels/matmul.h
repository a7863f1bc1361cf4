// Matrix products of a quantized weight matrix with f32 activations: y = W x for one token
// (gemv, decode) or a batch of tokens (gemm, prefill and embedding), multi-threaded over rows.
//
// Two paths:
//   kQuantized: activations are quantized once to the weight type's partner (Q8_0, Q8_1, Q8_K,
//               F16, ...) and every output is an integer dot product, as llama.cpp computes it.
//               Memory-bound for one token; the path conformance with llama.cpp relies on.
//   kBlas:      each thread dequantizes a tile of W rows to f32 and calls OpenBLAS sgemm
//               (single-threaded inside; our pool splits the rows). Float activations: results
//               differ from the quantized path by the activation rounding (~0.5% per product).
// kAuto picks by shape with choose_matmul_path(), a rule measured by bench/bench_kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/kernels/kernels.h"
#include "engine/quant/ggml_type.h"

namespace quire::engine {

// n_out rows of n_in weights (GGUF ne0 = n_in, ne1 = n_out), rows stored contiguously.
struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  const void* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;

  size_t row_bytes() const { return ggml_row_size(type, static_cast<uint64_t>(n_in)); }
  const uint8_t* row(int64_t i) const {
    return static_cast<const uint8_t*>(data) + static_cast<size_t>(i) * row_bytes();
  }
};

enum class MatmulPath { kAuto, kQuantized, kBlas };

// Buffers reused across calls so products allocate nothing in steady state: quantized
// activations and per-thread f32 tiles. One per thread of control (a Session); not thread-safe.
struct MatmulScratch {
  std::vector<uint8_t> activations;
  std::vector<uint8_t> activations2[2];  // matmul_multi: other partner types
  std::vector<std::vector<float>> tiles;
};

// Tokens from which kAuto uses the BLAS path for a type (measured; see bench/bench_kernels).
int64_t blas_min_tokens(GgmlType type);
MatmulPath choose_matmul_path(GgmlType type, int64_t n_tokens);

// y[t * n_out + o] = dot(row o of w, x + t * n_in) for t < n_tokens, o < n_out.
// The type must have kernels in `ks`; n_in must be a multiple of its block size (checked by the
// model loader). Results do not depend on the pool size.
// `token_groups` (optional): offsets 0 = g_0 < g_1 < ... = n_tokens splitting the tokens into
// independent groups (the sequences of a packed batch). The BLAS path then runs one sgemm per
// group, so a group's results are bit-identical to computing it alone; the quantized path is
// per token and needs nothing.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch, MatmulPath path = MatmulPath::kAuto,
            const KernelSet& ks = kernels(), std::span<const int64_t> token_groups = {});

// Several products of the same activations (q, k and v; gate and up) as one pass over the pool:
// y_i = W_i x for each i. All W_i have the same n_in. On the quantized path the activations are
// quantized once per partner type and one parallel_for covers the rows of every matrix, so a
// decode step pays one dispatch instead of one per matrix; results are bit-identical to separate
// matmul() calls (the same dot product per row and token). Other paths run separate matmul()s.
void matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t n_tokens,
                  std::span<float* const> ys, ThreadPool& pool, MatmulScratch& scratch,
                  MatmulPath path = MatmulPath::kAuto, const KernelSet& ks = kernels());

}  // namespace quire::engine
