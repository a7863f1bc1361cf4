#include "engine/ops/causal_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/kernels/kernels.h"
#include "engine/ops/ops.h"
#include "engine/quant/fp16.h"

namespace quire::engine::ops {
namespace {

float attention_scale(int64_t head_dim) {
  return 1.0f / std::sqrt(static_cast<float>(head_dim));
}

// Room for n_kv scores and one row of head_dim floats after them.
float* score_buffer(AttentionHeadScratch& s, int64_t n_kv, int64_t head_dim) {
  if (s.scores.size() < static_cast<size_t>(n_kv + head_dim)) {
    s.scores.resize(static_cast<size_t>(std::max<int64_t>(n_kv + head_dim, 1024)));
  }
  return s.scores.data();
}

}  // namespace

void attention_head_f32(const float* q, KvHeadRows k, KvHeadRows v, int64_t n_kv, int64_t head_dim,
                        float* out, AttentionHeadScratch& scratch) {
  float* scores = score_buffer(scratch, n_kv, head_dim);
  std::fill(out, out + head_dim, 0.0f);
  for (int64_t j = 0; j < n_kv; ++j) {
    scores[j] = dot_f32(q, reinterpret_cast<const float*>(k.row(j)), head_dim);
  }
  softmax(scores, n_kv, attention_scale(head_dim), nullptr);
  for (int64_t j = 0; j < n_kv; ++j) {
    axpy_f32(scores[j], reinterpret_cast<const float*>(v.row(j)), out, head_dim);
  }
}

void attention_head_f16(const float* q, KvHeadRows k, KvHeadRows v, int64_t n_kv, int64_t head_dim,
                        F16Order order, float* out, AttentionHeadScratch& scratch) {
  const bool one_token = order == F16Order::kOneToken;
  float* scores = score_buffer(scratch, n_kv, head_dim);
  scratch.query.resize(static_cast<size_t>(head_dim) * 2);
  auto* qh = reinterpret_cast<uint16_t*>(scratch.query.data());
  to_f16(q, qh, head_dim);
  for (int64_t j = 0; j < n_kv; ++j) {
    const auto* kr = reinterpret_cast<const uint16_t*>(k.row(j));
    scores[j] = one_token ? dot_f16_ggml(qh, kr, head_dim) : dot_f16(qh, kr, head_dim);
  }
  softmax(scores, n_kv, attention_scale(head_dim), nullptr);
  // Partial sums of P.V, one per position modulo `parts`, each in f32.
  const int64_t parts = one_token ? 32 : 8;
  scratch.acc.assign(static_cast<size_t>(parts * head_dim), 0.0f);
  for (int64_t j = 0; j < n_kv; ++j) {
    const float p = fp16_to_fp32(fp32_to_fp16(scores[j]));
    axpy_f16(p, reinterpret_cast<const uint16_t*>(v.row(j)),
             scratch.acc.data() + (j % parts) * head_dim, head_dim);
  }
  const float* a = scratch.acc.data();
  for (int64_t d = 0; d < head_dim; ++d) {
    auto at = [&](int64_t part) { return a[part * head_dim + d]; };
    if (one_token) {
      // ggml_vec_dot_f16's reduction of its 4 x 8 accumulators.
      float x[8];
      for (int l = 0; l < 8; ++l) x[l] = (at(l) + at(16 + l)) + (at(8 + l) + at(24 + l));
      out[d] = ((x[0] + x[4]) + (x[1] + x[5])) + ((x[2] + x[6]) + (x[3] + x[7]));
    } else {
      out[d] = ((at(4) + at(0)) + (at(6) + at(2))) + ((at(5) + at(1)) + (at(7) + at(3)));
    }
  }
}

void attention_head_q8_0(const float* q, KvHeadRows k, KvHeadRows v, int64_t n_kv, int64_t head_dim,
                         float* out, AttentionHeadScratch& scratch) {
  const TypeKernels* q8 = kernels().find(GgmlType::Q8_0);
  const float scale = attention_scale(head_dim);
  float* vtmp = score_buffer(scratch, n_kv, head_dim) + n_kv;  // head_dim floats
  scratch.query.resize(ggml_row_size(GgmlType::Q8_0, static_cast<uint64_t>(head_dim)));
  q8->quantize_activation(q, scratch.query.data(), head_dim);
  std::fill(out, out + head_dim, 0.0f);
  // Online softmax: m is the largest score so far, out and sum are scaled to e^-m.
  float m = -std::numeric_limits<float>::infinity(), sum = 0.0f;
  for (int64_t j = 0; j < n_kv; ++j) {
    float sc = 0.0f;
    q8->vec_dot(head_dim, &sc, k.row(j), scratch.query.data());
    sc *= scale;
    float ms = 1.0f, vs;
    if (sc > m) {
      ms = std::exp(m - sc);
      m = sc;
      vs = 1.0f;
      ops::scale(out, ms, out, head_dim);
    } else {
      vs = std::exp(sc - m);
    }
    q8->dequantize(v.row(j), vtmp, head_dim);
    axpy_f32(vs, vtmp, out, head_dim);
    sum = sum * ms + vs;
  }
  ops::scale(out, 1.0f / sum, out, head_dim);
}

void attention_causal(GgmlType kv_type, const float* q, float* out, int64_t n_head,
                      int64_t n_head_kv, int64_t head_dim, std::span<const CausalChunk> chunks,
                      ThreadPool& pool, std::vector<AttentionHeadScratch>& scratch) {
  if (chunks.empty()) return;
  const int64_t n_rows = chunks.back().first_row + chunks.back().n_tokens;
  const int64_t group = n_head / n_head_kv;
  const int64_t q_dim = n_head * head_dim;
  const size_t head_bytes = ggml_row_size(kv_type, static_cast<uint64_t>(head_dim));
  scratch.resize(static_cast<size_t>(pool.size()));
  // One task per (row, query head).
  pool.parallel_for(static_cast<size_t>(n_rows * n_head), 1, [&](size_t b, size_t e, int worker) {
    AttentionHeadScratch& s = scratch[static_cast<size_t>(worker)];
    for (size_t task = b; task < e; ++task) {
      const int64_t r = static_cast<int64_t>(task) / n_head;
      const int64_t h = static_cast<int64_t>(task) % n_head;
      // The chunk holding row r: the last one starting at or before it.
      const CausalChunk& c =
          *(std::upper_bound(chunks.begin(), chunks.end(), r,
                             [](int64_t row, const CausalChunk& x) { return row < x.first_row; }) -
            1);
      const size_t kv_offset = static_cast<size_t>(h / group) * head_bytes;
      const KvHeadRows k{c.k + kv_offset, c.row_stride};
      const KvHeadRows v{c.v + kv_offset, c.row_stride};
      const int64_t n_kv = c.n_past + (r - c.first_row) + 1;  // causal: positions 0..pos
      const float* qh = q + r * q_dim + h * head_dim;
      float* oh = out + r * q_dim + h * head_dim;
      switch (kv_type) {
        case GgmlType::F32:
          attention_head_f32(qh, k, v, n_kv, head_dim, oh, s);
          break;
        case GgmlType::F16:
          attention_head_f16(qh, k, v, n_kv, head_dim,
                             c.n_tokens == 1 ? F16Order::kOneToken : F16Order::kPrompt, oh, s);
          break;
        default:
          attention_head_q8_0(qh, k, v, n_kv, head_dim, oh, s);
          break;
      }
    }
  });
}

}  // namespace quire::engine::ops
