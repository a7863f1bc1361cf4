#include "engine/ops/attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "engine/kernels/blas.h"
#include "engine/ops/ops.h"

namespace quire::engine::ops {

void attention_bidirectional(const float* q, const float* k, const float* v, float* out, int64_t ld,
                             const std::vector<int64_t>& offsets, int64_t n_head, int64_t head_dim,
                             ThreadPool& pool, std::vector<std::vector<float>>& scratch) {
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  if (n_seq <= 0) return;
  use_single_threaded_blas();
  int64_t max_len = 0;
  for (int64_t s = 0; s < n_seq; ++s) max_len = std::max(max_len, offsets[s + 1] - offsets[s]);
  scratch.resize(static_cast<size_t>(pool.size()));
  for (auto& buffer : scratch) {
    if (buffer.size() < static_cast<size_t>(max_len * max_len)) {
      buffer.resize(static_cast<size_t>(max_len * max_len));
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  // One task per (sequence, head); the two products are small sgemm calls.
  pool.parallel_for(static_cast<size_t>(n_seq * n_head), 1, [&](size_t b, size_t e, int worker) {
    float* scores = scratch[static_cast<size_t>(worker)].data();
    for (size_t task = b; task < e; ++task) {
      const int64_t s = static_cast<int64_t>(task) / n_head;
      const int64_t h = static_cast<int64_t>(task) % n_head;
      const int64_t t0 = offsets[s];
      const int len = static_cast<int>(offsets[s + 1] - t0);
      if (len == 0) continue;
      const float* qs = q + t0 * ld + h * head_dim;
      const float* ks = k + t0 * ld + h * head_dim;
      const float* vs = v + t0 * ld + h * head_dim;
      float* os = out + t0 * ld + h * head_dim;
      // scores[i][j] = q_i . k_j (len x len), scaled inside softmax
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, static_cast<int>(head_dim),
                  1.0f, qs, static_cast<int>(ld), ks, static_cast<int>(ld), 0.0f, scores, len);
      for (int i = 0; i < len; ++i)
        softmax(scores + static_cast<int64_t>(i) * len, len, scale, nullptr);
      // out_i = sum_j p_ij v_j (len x head_dim)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, static_cast<int>(head_dim), len,
                  1.0f, scores, len, vs, static_cast<int>(ld), 0.0f, os, static_cast<int>(ld));
    }
  });
}

}  // namespace quire::engine::ops
