#include "engine/kernels/matmul.h"

#include "engine/kernels/blas.h"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>

namespace quire::engine {
namespace {

// Output rows per gemm tile and tokens per inner tile: a tile of 16 weight rows and 8 activation
// rows (a few tens of KB) stays in L1/L2 while every pair is dotted.
constexpr int64_t kRowTile = 16;
constexpr int64_t kTokenTile = 8;
// Weight rows each thread dequantizes per sgemm call on the BLAS path.
constexpr int64_t kBlasRows = 64;

// Rows ahead of the one being dotted whose bytes are requested from memory: the hardware
// prefetcher alone leaves the cores waiting on DRAM at decode rates (measured by bench_kernels).
constexpr size_t kPrefetchRows = 2;

inline void prefetch(const uint8_t* p, size_t bytes) {
  for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(p + i, 0, 0);
}

// One weight row against tokens [0, n) of a tile: the multi-token kernel when the type has one.
inline void dot_tokens(const TypeKernels& k, int64_t n_in, float* y, size_t y_stride,
                       const uint8_t* w, const uint8_t* act, size_t act_row, int64_t n) {
  if (k.vec_dot_multi != nullptr && n > 1) {
    k.vec_dot_multi(n_in, y, y_stride, w, act, act_row, static_cast<int>(n));
    return;
  }
  for (int64_t t = 0; t < n; ++t) {
    k.vec_dot(n_in, y + static_cast<size_t>(t) * y_stride, w,
              act + static_cast<size_t>(t) * act_row);
  }
}

void matmul_quantized(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                      ThreadPool& pool, MatmulScratch& scratch, const TypeKernels& k) {
  const int64_t n_in = w.n_in, n_out = w.n_out;
  const size_t act_row = ggml_row_size(k.vec_dot_type, static_cast<uint64_t>(n_in));
  const uint8_t* act = nullptr;
  if (k.vec_dot_type == GgmlType::F32) {
    act = reinterpret_cast<const uint8_t*>(x);  // f32 weights take the activations as they are
  } else {
    scratch.activations.resize(act_row * static_cast<size_t>(n_tokens));
    uint8_t* dst = scratch.activations.data();
    if (n_tokens < 4) {  // a dispatch costs more than quantizing a few rows
      for (int64_t t = 0; t < n_tokens; ++t) {
        k.quantize_activation(x + t * n_in, dst + t * act_row, n_in);
      }
    } else {
      pool.parallel_for(static_cast<size_t>(n_tokens), 1, [&](size_t b, size_t e, int) {
        for (size_t t = b; t < e; ++t) k.quantize_activation(x + t * n_in, dst + t * act_row, n_in);
      });
    }
    act = dst;
  }
  const size_t w_row = w.row_bytes();
  const auto* w_data = static_cast<const uint8_t*>(w.data);

  if (n_tokens == 1) {
    // Decode: memory-bound; chunks of rows claimed dynamically balance a noisy machine.
    const size_t grain =
        static_cast<size_t>(std::max<int64_t>(8, n_out / (static_cast<int64_t>(pool.size()) * 8)));
    pool.parallel_for(static_cast<size_t>(n_out), grain, [&](size_t b, size_t e, int) {
      for (size_t o = b; o < e; ++o) {
        if (o + kPrefetchRows < e) prefetch(w_data + (o + kPrefetchRows) * w_row, w_row);
        k.vec_dot(n_in, &y[o], w_data + o * w_row, act);
      }
    });
    return;
  }

  const int64_t n_row_tiles = (n_out + kRowTile - 1) / kRowTile;
  pool.parallel_for(static_cast<size_t>(n_row_tiles), 1, [&](size_t b, size_t e, int) {
    for (size_t tile = b; tile < e; ++tile) {
      const int64_t r0 = static_cast<int64_t>(tile) * kRowTile;
      const int64_t r1 = std::min(n_out, r0 + kRowTile);
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
        const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
        for (int64_t o = r0; o < r1; ++o) {
          const uint8_t* wr = w_data + static_cast<size_t>(o) * w_row;
          dot_tokens(k, n_in, &y[t0 * n_out + o], static_cast<size_t>(n_out), wr,
                     act + static_cast<size_t>(t0) * act_row, act_row, t1 - t0);
        }
      }
    }
  });
}

void matmul_blas(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool& pool, MatmulScratch& scratch, const TypeKernels& k,
                 std::span<const int64_t> token_groups) {
  const int64_t whole[2] = {0, n_tokens};
  if (token_groups.size() < 2) token_groups = whole;
  use_single_threaded_blas();
  const int64_t n_in = w.n_in, n_out = w.n_out;
  const bool is_f32 = w.type == GgmlType::F32;
  if (!is_f32) {
    scratch.tiles.resize(static_cast<size_t>(pool.size()));
    for (auto& tile : scratch.tiles) tile.resize(static_cast<size_t>(kBlasRows * n_in));
  }
  const int64_t n_tiles = (n_out + kBlasRows - 1) / kBlasRows;
  pool.parallel_for(static_cast<size_t>(n_tiles), 1, [&](size_t b, size_t e, int worker) {
    for (size_t tile = b; tile < e; ++tile) {
      const int64_t r0 = static_cast<int64_t>(tile) * kBlasRows;
      const int64_t rows = std::min(n_out, r0 + kBlasRows) - r0;
      const float* wf = nullptr;
      if (is_f32) {
        wf = reinterpret_cast<const float*>(w.row(r0));
      } else {
        float* dst = scratch.tiles[static_cast<size_t>(worker)].data();
        for (int64_t r = 0; r < rows; ++r) k.dequantize(w.row(r0 + r), dst + r * n_in, n_in);
        wf = dst;
      }
      // Y[g, r0:r0+rows] = X[g] (tokens of group g x n_in) * Wtile^T (n_in x rows), per group.
      for (size_t g = 0; g + 1 < token_groups.size(); ++g) {
        const int64_t t0 = token_groups[g], m = token_groups[g + 1] - t0;
        if (m <= 0) continue;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m),
                    static_cast<int>(rows), static_cast<int>(n_in), 1.0f, x + t0 * n_in,
                    static_cast<int>(n_in), wf, static_cast<int>(n_in), 0.0f, y + t0 * n_out + r0,
                    static_cast<int>(n_out));
      }
    }
  });
}

}  // namespace

// From bench_kernels' crossover sweep (4096 x 4096, 2 threads, AVX2 kernels): the fewest tokens
// from which dequantize + sgemm beat the integer kernels in two runs on the 2-core machine kind.
// The K-quant integer kernels stay within a few % of sgemm up to 512 tokens, so the quantized path
// (the one that matches llama.cpp's numerics) is kept longer there.
int64_t blas_min_tokens(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
      return 4;
    case GgmlType::F16:
      return 16;
    case GgmlType::Q3_K:
      return 128;
    case GgmlType::Q6_K:
      return 256;
    case GgmlType::Q2_K:
    case GgmlType::Q4_K:
      return 512;
    default:
      return 64;  // BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q5_K
  }
}

MatmulPath choose_matmul_path(GgmlType type, int64_t n_tokens) {
  return n_tokens >= blas_min_tokens(type) ? MatmulPath::kBlas : MatmulPath::kQuantized;
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch, MatmulPath path, const KernelSet& ks,
            std::span<const int64_t> token_groups) {
  if (n_tokens <= 0 || w.n_out <= 0) return;
  const TypeKernels* k = ks.find(w.type);
  if (k == nullptr) std::abort();  // the loader refuses types without kernels
  if (path == MatmulPath::kAuto) path = choose_matmul_path(w.type, n_tokens);
  if (path == MatmulPath::kBlas) {
    matmul_blas(w, x, n_tokens, y, pool, scratch, *k, token_groups);
  } else {
    matmul_quantized(w, x, n_tokens, y, pool, scratch, *k);
  }
}

void matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t n_tokens,
                  std::span<float* const> ys, ThreadPool& pool, MatmulScratch& scratch,
                  MatmulPath path, const KernelSet& ks) {
  if (n_tokens <= 0) return;
  // The fused pass serves the quantized path with at most three partner types.
  const TypeKernels* k[8] = {};
  GgmlType partner[3];
  int n_partner = 0;
  bool fused = ws.size() <= 8 && ws.size() == ys.size();
  for (size_t i = 0; fused && i < ws.size(); ++i) {
    k[i] = ks.find(ws[i]->type);
    if (k[i] == nullptr) std::abort();
    const MatmulPath p =
        path == MatmulPath::kAuto ? choose_matmul_path(ws[i]->type, n_tokens) : path;
    if (p != MatmulPath::kQuantized || ws[i]->n_in != ws[0]->n_in) fused = false;
    int j = 0;
    while (j < n_partner && partner[j] != k[i]->vec_dot_type) ++j;
    if (j == n_partner) {
      if (n_partner == 3) {
        fused = false;
      } else {
        partner[n_partner++] = k[i]->vec_dot_type;
      }
    }
  }
  if (!fused) {
    for (size_t i = 0; i < ws.size(); ++i) {
      matmul(*ws[i], x, n_tokens, ys[i], pool, scratch, path, ks);
    }
    return;
  }
  const int64_t n_in = ws[0]->n_in;
  // Quantized activations per partner type.
  const uint8_t* act[3] = {};
  size_t act_row[3] = {};
  std::vector<uint8_t>* bufs[3] = {&scratch.activations, &scratch.activations2[0],
                                   &scratch.activations2[1]};
  for (int j = 0; j < n_partner; ++j) {
    act_row[j] = ggml_row_size(partner[j], static_cast<uint64_t>(n_in));
    if (partner[j] == GgmlType::F32) {
      act[j] = reinterpret_cast<const uint8_t*>(x);
      continue;
    }
    const TypeKernels* q = nullptr;
    for (size_t i = 0; i < ws.size(); ++i) {
      if (k[i]->vec_dot_type == partner[j]) q = k[i];
    }
    bufs[j]->resize(act_row[j] * static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) {
      q->quantize_activation(x + t * n_in, bufs[j]->data() + static_cast<size_t>(t) * act_row[j],
                             n_in);
    }
    act[j] = bufs[j]->data();
  }
  // Row tiles of every matrix, in order.
  struct Span {
    int64_t first_tile, n_out;
    const TypeKernels* k;
    const uint8_t* act;
    size_t act_row;
  };
  Span spans[8];
  const int64_t rows_per_tile = n_tokens == 1 ? 8 : kRowTile;
  int64_t n_tiles = 0;
  for (size_t i = 0; i < ws.size(); ++i) {
    int j = 0;
    while (partner[j] != k[i]->vec_dot_type) ++j;
    spans[i] = {n_tiles, ws[i]->n_out, k[i], act[j], act_row[j]};
    n_tiles += (ws[i]->n_out + rows_per_tile - 1) / rows_per_tile;
  }
  const size_t grain =
      static_cast<size_t>(std::max<int64_t>(1, n_tiles / (static_cast<int64_t>(pool.size()) * 8)));
  pool.parallel_for(static_cast<size_t>(n_tiles), grain, [&](size_t b, size_t e, int) {
    size_t m = 0;
    for (size_t tile = b; tile < e; ++tile) {
      while (m + 1 < ws.size() && static_cast<int64_t>(tile) >= spans[m + 1].first_tile) ++m;
      const Span& sp = spans[m];
      const WeightMatrix& w = *ws[m];
      const size_t w_row = w.row_bytes();
      const auto* w_data = static_cast<const uint8_t*>(w.data);
      const int64_t r0 = (static_cast<int64_t>(tile) - sp.first_tile) * rows_per_tile;
      const int64_t r1 = std::min(sp.n_out, r0 + rows_per_tile);
      float* y = ys[m];
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
        const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
        for (int64_t o = r0; o < r1; ++o) {
          const uint8_t* wr = w_data + static_cast<size_t>(o) * w_row;
          if (n_tokens == 1 && o + static_cast<int64_t>(kPrefetchRows) < r1) {
            prefetch(wr + kPrefetchRows * w_row, w_row);
          }
          dot_tokens(*sp.k, n_in, &y[t0 * sp.n_out + o], static_cast<size_t>(sp.n_out), wr,
                     sp.act + static_cast<size_t>(t0) * sp.act_row, sp.act_row, t1 - t0);
        }
      }
    }
  });
}

}  // namespace quire::engine
