// Tests of engine/ops/causal_attention: the step-level kernel on seeded random steps (several
// sequences, one-token and multi-token chunks, prefixes already in the cache) for every cache
// type, head count, GQA ratio (n_head / n_head_kv = 1, 2, 4) and head size (64, 128, and 7, which
// has no whole 32-value step: F32 and F16 only, Q8_0 heads are whole blocks), against a plain
// double-precision softmax(q k^T / sqrt(head_dim) + causal mask) v; and the step-level kernel
// against the one-head kernels bit for bit (GQA head mapping, F16 order per chunk length), with
// results independent of the other chunks and of the thread count.
//
// Tolerance: a worst-case rounding bound per output element, so it holds for any data and seed.
// The reference takes q as given and K, V as the cache holds them (the cache's own rounding is
// its writer's business, not the kernel's). For a query head over n_kv positions with exact
// probabilities p_j, and A_d = sum_j p_j |v_jd| (|out_d| <= A_d; all errors are relative to it,
// so cancellation in out_d is no problem), u = 2^-24:
//   - scores: the kernel's score j is off the exact one by at most
//       delta = max_j |scale (q - q') . k_j| + (head_dim + 4) u max_j scale sum_i |q'_i k_ji|
//     where q' is q as the kernel rounds it (itself for F32, f16(q) for F16, Q8_0's
//     dequantize(quantize(q)) for Q8_0; the first term is computed exactly, with its sign) and the
//     second bounds the f32 dot of head_dim products, the scaling and the subtraction of the
//     maximum. Scores off by at most delta move each probability by a factor within
//     e^(+-2 delta), so the output by at most (e^(2 delta) - 1) A_d;
//   - the rest of the f32 arithmetic: exp (within 2 ulp), the normalising sum or the online
//     rescaling (two roundings per position), the accumulation of P.V and its final reduction:
//     a factor within 1 +- (4 n_kv + 16) u;
//   - F16 only: P rounded to f16 before P.V, a factor within 1 +- 2^-11, plus 2^-25 max_j |v_jd|
//     for each position whose probability is below f16's smallest normal (absolute rounding).
// tol_d = (e^(2 delta) (1 + 2^-11 if F16) (1 + (4 n_kv + 16) u) - 1) A_d + the subnormal term.
// Measured (printed): F32 at most 4% of its bound (1.3e-6 of A_d: delta's f32 term is a worst
// case far from typical sums), F16 32-63% (2.1e-3 of A_d at most; Q's and P's f16 rounding
// dominate), Q8_0 47-96% (up to 0.1 of A_d with sharp distributions: Q's 8-bit rounding moves
// the scores by nearly delta, and the worst case is nearly reached when few positions hold the
// mass). A wrong mask, scale, position or head mapping is off by O(A_d), above every bound for
// F32 and F16 (which share the step-level code with Q8_0).
#include "engine/ops/causal_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "engine/core/thread_pool.h"
#include "engine/kernels/kernels.h"
#include "engine/ops/ops.h"
#include "engine/quant/fp16.h"
#include "engine/quant/ggml_type.h"

namespace quire::engine::ops {
namespace {

constexpr double kU = 0x1p-24;  // f32 unit roundoff

// Positions already cached and tokens in the step, per sequence: a prompt, a decode step deep in
// a sequence, a second prompt chunk after a prefix, a first token alone, another decode step.
struct ChunkShape {
  int64_t n_past, n_tokens;
};
constexpr ChunkShape kStep[] = {{0, 13}, {20, 1}, {9, 6}, {0, 1}, {40, 1}};

std::vector<float> random_normal(size_t n, std::mt19937& rng, float stddev) {
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

const TypeKernels& q8_kernels() {
  return *kernels().find(GgmlType::Q8_0);
}

// head_dim f32 values -> the cache type, as the decoder writes its rows.
void store(GgmlType type, const float* x, uint8_t* dst, int64_t head_dim) {
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, x, static_cast<size_t>(head_dim) * sizeof(float));
      break;
    case GgmlType::F16:
      to_f16(x, reinterpret_cast<uint16_t*>(dst), head_dim);
      break;
    default:
      q8_kernels().quantize_activation(x, dst, head_dim);
      break;
  }
}

// The exact values of head_dim cached values.
std::vector<double> load(GgmlType type, const uint8_t* src, int64_t head_dim) {
  std::vector<float> f(static_cast<size_t>(head_dim));
  switch (type) {
    case GgmlType::F32:
      std::memcpy(f.data(), src, f.size() * sizeof(float));
      break;
    case GgmlType::F16:
      for (int64_t i = 0; i < head_dim; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        f[static_cast<size_t>(i)] = fp16_to_fp32(h);
      }
      break;
    default:
      q8_kernels().dequantize(src, f.data(), head_dim);  // d * q: exact in f32
      break;
  }
  return {f.begin(), f.end()};
}

// q as the kernel rounds it before K.Q.
std::vector<double> rounded_query(GgmlType type, const float* q, int64_t head_dim) {
  switch (type) {
    case GgmlType::F32:
      return {q, q + head_dim};
    case GgmlType::F16: {
      std::vector<uint16_t> h(static_cast<size_t>(head_dim));
      to_f16(q, h.data(), head_dim);
      return load(GgmlType::F16, reinterpret_cast<const uint8_t*>(h.data()), head_dim);
    }
    default: {
      std::vector<uint8_t> block(ggml_row_size(GgmlType::Q8_0, static_cast<uint64_t>(head_dim)));
      q8_kernels().quantize_activation(q, block.data(), head_dim);
      return load(GgmlType::Q8_0, block.data(), head_dim);
    }
  }
}

// One random step: the query rows and every sequence's cache (rows padded past their data, so
// that the kernel must honour row_stride).
struct Step {
  GgmlType type;
  int64_t n_head, n_head_kv, head_dim;
  size_t head_bytes, row_stride;
  std::vector<ChunkShape> shapes;
  std::vector<float> q;
  std::vector<std::vector<uint8_t>> k, v;  // per sequence
  std::vector<CausalChunk> chunks;
  int64_t n_rows = 0;

  int64_t q_dim() const { return n_head * head_dim; }
};

Step make_step(GgmlType type, int64_t n_head, int64_t n_head_kv, int64_t head_dim, float q_stddev,
               std::vector<ChunkShape> shapes, uint32_t seed) {
  std::mt19937 rng(seed);
  Step s{type, n_head, n_head_kv, head_dim, 0, 0, std::move(shapes), {}, {}, {}, {}, 0};
  s.head_bytes = ggml_row_size(type, static_cast<uint64_t>(head_dim));
  s.row_stride = static_cast<size_t>(n_head_kv) * s.head_bytes + 16;
  for (const ChunkShape& c : s.shapes) s.n_rows += c.n_tokens;
  s.q = random_normal(static_cast<size_t>(s.n_rows * s.q_dim()), rng, q_stddev);
  int64_t row = 0;
  for (const ChunkShape& c : s.shapes) {
    const int64_t n_pos = c.n_past + c.n_tokens;
    auto& k = s.k.emplace_back(static_cast<size_t>(n_pos) * s.row_stride, uint8_t{0});
    auto& v = s.v.emplace_back(static_cast<size_t>(n_pos) * s.row_stride, uint8_t{0});
    for (int64_t j = 0; j < n_pos; ++j) {
      for (int64_t h = 0; h < n_head_kv; ++h) {
        const size_t at =
            static_cast<size_t>(j) * s.row_stride + static_cast<size_t>(h) * s.head_bytes;
        const std::vector<float> kx = random_normal(static_cast<size_t>(head_dim), rng, 1.0f);
        const std::vector<float> vx = random_normal(static_cast<size_t>(head_dim), rng, 1.0f);
        store(type, kx.data(), k.data() + at, head_dim);
        store(type, vx.data(), v.data() + at, head_dim);
      }
    }
    s.chunks.push_back({.first_row = row,
                        .n_tokens = c.n_tokens,
                        .n_past = c.n_past,
                        .k = k.data(),
                        .v = v.data(),
                        .row_stride = s.row_stride});
    row += c.n_tokens;
  }
  return s;
}

std::vector<float> run(const Step& s, ThreadPool& pool) {
  std::vector<float> out(s.q.size(), std::nanf(""));
  std::vector<AttentionHeadScratch> scratch;
  attention_causal(s.type, s.q.data(), out.data(), s.n_head, s.n_head_kv, s.head_dim, s.chunks,
                   pool, scratch);
  return out;
}

std::string type_name(GgmlType type) {
  return type == GgmlType::F32 ? "F32" : type == GgmlType::F16 ? "F16" : "Q8_0";
}

using Params = std::tuple<GgmlType, std::pair<int64_t, int64_t>, int64_t, float>;

class CausalAttentionReference : public ::testing::TestWithParam<Params> {};

TEST_P(CausalAttentionReference, WithinTheRoundingBoundOfDoublePrecision) {
  const auto [type, heads, head_dim, q_stddev] = GetParam();
  const auto [n_head, n_head_kv] = heads;
  const Step s =
      make_step(type, n_head, n_head_kv, head_dim, q_stddev, {std::begin(kStep), std::end(kStep)},
                static_cast<uint32_t>(n_head * 1000 + n_head_kv * 100 + head_dim));
  ThreadPool pool(2);
  const std::vector<float> out = run(s, pool);

  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const double p_rounding = type == GgmlType::F16 ? 0x1p-11 : 0.0;
  double worst_fraction = 0.0, worst_relative = 0.0;
  for (size_t c = 0; c < s.chunks.size(); ++c) {
    const CausalChunk& chunk = s.chunks[c];
    for (int64_t t = 0; t < chunk.n_tokens; ++t) {
      const int64_t r = chunk.first_row + t;
      const int64_t n_kv = chunk.n_past + t + 1;
      for (int64_t h = 0; h < n_head; ++h) {
        const float* qf = s.q.data() + r * s.q_dim() + h * head_dim;
        const std::vector<double> qr = rounded_query(type, qf, head_dim);
        const size_t kv_offset = static_cast<size_t>(h / (n_head / n_head_kv)) * s.head_bytes;
        std::vector<std::vector<double>> vs;
        std::vector<double> scores, p;
        double shift_max = 0.0, magnitude_max = 0.0;
        for (int64_t j = 0; j < n_kv; ++j) {
          const size_t at = static_cast<size_t>(j) * s.row_stride + kv_offset;
          const std::vector<double> kj = load(type, s.k[c].data() + at, head_dim);
          vs.push_back(load(type, s.v[c].data() + at, head_dim));
          double exact = 0, shift = 0, magnitude = 0;
          for (int64_t i = 0; i < head_dim; ++i) {
            const auto ii = static_cast<size_t>(i);
            exact += qf[i] * kj[ii];
            shift += (qf[i] - qr[ii]) * kj[ii];
            magnitude += std::abs(qr[ii] * kj[ii]);
          }
          scores.push_back(exact * scale);
          shift_max = std::max(shift_max, std::abs(shift) * scale);
          magnitude_max = std::max(magnitude_max, magnitude * scale);
        }
        const double m = *std::max_element(scores.begin(), scores.end());
        double sum = 0;
        for (double x : scores) sum += p.emplace_back(std::exp(x - m));
        for (double& x : p) x /= sum;
        const double delta = shift_max + static_cast<double>(head_dim + 4) * kU * magnitude_max;
        const double arithmetic = static_cast<double>(4 * n_kv + 16) * kU;
        const double relative = std::exp(2 * delta) * (1 + p_rounding) * (1 + arithmetic) - 1;
        for (int64_t d = 0; d < head_dim; ++d) {
          double want = 0, a = 0, v_max = 0, subnormal = 0;
          for (int64_t j = 0; j < n_kv; ++j) {
            const double vjd = vs[static_cast<size_t>(j)][static_cast<size_t>(d)];
            want += p[static_cast<size_t>(j)] * vjd;
            a += p[static_cast<size_t>(j)] * std::abs(vjd);
            v_max = std::max(v_max, std::abs(vjd));
            if (type == GgmlType::F16 && p[static_cast<size_t>(j)] < 0x1p-14) subnormal += 1;
          }
          const double tol = relative * a + subnormal * 0x1p-25 * v_max * (1 + arithmetic);
          const double got = out[static_cast<size_t>(r * s.q_dim() + h * head_dim + d)];
          const double err = std::abs(got - want);
          ASSERT_LE(err, tol) << "chunk " << c << " token " << t << " head " << h << " dim " << d
                              << ": got " << got << ", want " << want;
          worst_fraction = std::max(worst_fraction, err / tol);
          worst_relative = std::max(worst_relative, err / a);
        }
      }
    }
  }
  std::printf(
      "[ measured ] %s n_head %lld/%lld head_dim %lld q_stddev %.0f: max error %.3g of the "
      "bound, %.3g of sum p|v|\n",
      type_name(type).c_str(), static_cast<long long>(n_head), static_cast<long long>(n_head_kv),
      static_cast<long long>(head_dim), static_cast<double>(q_stddev), worst_fraction,
      worst_relative);
}

std::string params_name(const ::testing::TestParamInfo<Params>& info) {
  const auto [type, heads, head_dim, q_stddev] = info.param;
  return type_name(type) + "_heads" + std::to_string(heads.first) + "_kv" +
         std::to_string(heads.second) + "_dim" + std::to_string(head_dim) + "_q" +
         std::to_string(static_cast<int>(q_stddev));
}

// q_stddev 1 gives scores of unit spread; 4 gives sharp distributions (probabilities down to
// f16's subnormals, many online-softmax rescalings).
const std::pair<int64_t, int64_t> kHeads[] = {{4, 4}, {4, 2}, {8, 2}};
INSTANTIATE_TEST_SUITE_P(FloatCaches, CausalAttentionReference,
                         ::testing::Combine(::testing::Values(GgmlType::F32, GgmlType::F16),
                                            ::testing::ValuesIn(kHeads),
                                            ::testing::Values(7, 64, 128),
                                            ::testing::Values(1.0f, 4.0f)),
                         params_name);
INSTANTIATE_TEST_SUITE_P(Q8_0Cache, CausalAttentionReference,
                         ::testing::Combine(::testing::Values(GgmlType::Q8_0),
                                            ::testing::ValuesIn(kHeads),
                                            ::testing::Values(32, 64, 128),
                                            ::testing::Values(1.0f, 4.0f)),
                         params_name);

class CausalAttentionKernels : public ::testing::TestWithParam<GgmlType> {};

bool bits_equal(const float* a, const float* b, int64_t n) {
  return std::memcmp(a, b, static_cast<size_t>(n) * sizeof(float)) == 0;
}

// Every (row, head) of a step is the one-head kernel of its cache type on KV head h / 4 (GQA 4),
// F16 in the one-token order for a one-token chunk and in the prompt order otherwise.
TEST_P(CausalAttentionKernels, StepIsTheOneHeadKernelPerRowAndHead) {
  const GgmlType type = GetParam();
  const int64_t n_head = 8, n_head_kv = 2, head_dim = 64;
  const Step s =
      make_step(type, n_head, n_head_kv, head_dim, 1.0f, {std::begin(kStep), std::end(kStep)}, 7);
  ThreadPool pool(2);
  const std::vector<float> out = run(s, pool);
  AttentionHeadScratch scratch;
  std::vector<float> want(static_cast<size_t>(head_dim)), other(static_cast<size_t>(head_dim));
  int orders_differ = 0;
  for (const CausalChunk& c : s.chunks) {
    for (int64_t t = 0; t < c.n_tokens; ++t) {
      const int64_t r = c.first_row + t;
      for (int64_t h = 0; h < n_head; ++h) {
        const size_t kv_offset = static_cast<size_t>(h / 4) * s.head_bytes;
        const KvHeadRows k{c.k + kv_offset, c.row_stride}, v{c.v + kv_offset, c.row_stride};
        const int64_t n_kv = c.n_past + t + 1;
        const float* q = s.q.data() + r * s.q_dim() + h * head_dim;
        const F16Order order = c.n_tokens == 1 ? F16Order::kOneToken : F16Order::kPrompt;
        switch (type) {
          case GgmlType::F32:
            attention_head_f32(q, k, v, n_kv, head_dim, want.data(), scratch);
            break;
          case GgmlType::F16:
            attention_head_f16(q, k, v, n_kv, head_dim, order, want.data(), scratch);
            attention_head_f16(
                q, k, v, n_kv, head_dim,
                order == F16Order::kOneToken ? F16Order::kPrompt : F16Order::kOneToken,
                other.data(), scratch);
            if (!bits_equal(want.data(), other.data(), head_dim)) ++orders_differ;
            break;
          default:
            attention_head_q8_0(q, k, v, n_kv, head_dim, want.data(), scratch);
            break;
        }
        ASSERT_TRUE(bits_equal(out.data() + r * s.q_dim() + h * head_dim, want.data(), head_dim))
            << "row " << r << " head " << h;
      }
    }
  }
  // The orders give different bits on this data, so the check above tells them apart.
  if (type == GgmlType::F16) {
    EXPECT_GT(orders_differ, 0);
  }
}

// A sequence's rows are the same bits whether its chunk runs alone or with the others, on one
// thread or several (decoding many sequences together never changes one's result).
TEST_P(CausalAttentionKernels, ChunkResultsIndependentOfTheStepAndThreads) {
  const GgmlType type = GetParam();
  const Step s = make_step(type, 4, 2, 64, 1.0f, {std::begin(kStep), std::end(kStep)}, 11);
  ThreadPool pool1(1), pool3(3);
  const std::vector<float> together = run(s, pool3);
  EXPECT_TRUE(bits_equal(together.data(), run(s, pool1).data(), s.n_rows * s.q_dim()));
  for (const CausalChunk& c : s.chunks) {
    Step alone = s;
    alone.chunks = {c};
    alone.chunks[0].first_row = 0;
    alone.q.assign(s.q.begin() + c.first_row * s.q_dim(),
                   s.q.begin() + (c.first_row + c.n_tokens) * s.q_dim());
    const std::vector<float> out = run(alone, pool3);
    EXPECT_TRUE(
        bits_equal(out.data(), together.data() + c.first_row * s.q_dim(), c.n_tokens * s.q_dim()))
        << "chunk at row " << c.first_row;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, CausalAttentionKernels,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::Q8_0),
                         [](const ::testing::TestParamInfo<GgmlType>& info) {
                           return type_name(info.param);
                         });

}  // namespace
}  // namespace quire::engine::ops
