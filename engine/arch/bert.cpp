#include "engine/arch/bert.h"

#include <cmath>

#include "engine/gguf/gguf_names.h"
#include "engine/model/weights.h"
#include "engine/ops/attention.h"
#include "engine/ops/ops.h"

namespace quire::engine {
namespace {

using gguf::ArchKv;
using gguf::LlmTensor;
using gguf::tensor_name;

// y[t][i] += b[i] for every row t.
void add_bias(float* y, const std::vector<float>& b, int64_t n_rows) {
  const int64_t n = static_cast<int64_t>(b.size());
  for (int64_t t = 0; t < n_rows; ++t) ops::add(y + t * n, b.data(), y + t * n, n);
}

}  // namespace

Result<std::unique_ptr<BertModel>> BertModel::load(const gguf::GgufFile& file) {
  std::unique_ptr<BertModel> m(new BertModel());
  BertHParams& hp = m->hp_;
  const std::string arch = file.architecture();
  auto need = [&](ArchKv key) -> Result<int64_t> {
    const std::string name = gguf::arch_kv(arch, key);
    auto v = file.get_uint(name);
    if (!v || *v == 0 || *v > (1u << 24)) {
      return failed_precondition_error("metadata '" + name + "' is missing or out of range");
    }
    return static_cast<int64_t>(*v);
  };
  QUIRE_ASSIGN_OR_RETURN(hp.n_embd, need(ArchKv::kEmbeddingLength));
  QUIRE_ASSIGN_OR_RETURN(hp.n_layer, need(ArchKv::kBlockCount));
  QUIRE_ASSIGN_OR_RETURN(hp.n_head, need(ArchKv::kAttentionHeadCount));
  QUIRE_ASSIGN_OR_RETURN(hp.n_ff, need(ArchKv::kFeedForwardLength));
  QUIRE_ASSIGN_OR_RETURN(hp.n_ctx_train, need(ArchKv::kContextLength));
  if (hp.n_embd % hp.n_head != 0) {
    return failed_precondition_error("embedding_length " + std::to_string(hp.n_embd) +
                                     " is not a multiple of head_count " +
                                     std::to_string(hp.n_head));
  }
  hp.norm_eps = static_cast<float>(
      file.get_double(gguf::arch_kv(arch, ArchKv::kAttentionLayerNormEps)).value_or(1e-12));
  const uint64_t pooling = file.get_uint(gguf::arch_kv(arch, ArchKv::kPoolingType)).value_or(1);
  if (pooling != 1 && pooling != 2 && pooling != 4) {
    return unimplemented_error("pooling_type " + std::to_string(pooling) +
                               " (only mean = 1, cls = 2 and rank = 4 are supported)");
  }
  hp.pooling = static_cast<PoolingType>(pooling);

  WeightLoader w(file);
  const std::string token_embd = tensor_name(LlmTensor::kTokenEmbd, "weight");
  const gguf::TensorInfo* embd = file.find_tensor(token_embd);
  if (embd == nullptr) return not_found_error("tensor '" + token_embd + "' is missing");
  hp.n_vocab = embd->ne[1];
  QUIRE_ASSIGN_OR_RETURN(m->token_embd_, w.tensor(token_embd, {hp.n_embd, hp.n_vocab}));
  QUIRE_ASSIGN_OR_RETURN(m->position_embd_, w.floats(tensor_name(LlmTensor::kPosEmbd, "weight"),
                                                     {hp.n_embd, hp.n_ctx_train}));
  const std::string token_types = tensor_name(LlmTensor::kTokenTypes, "weight");
  const gguf::TensorInfo* types = file.find_tensor(token_types);
  hp.n_token_types = types != nullptr ? types->ne[1] : 0;
  if (hp.n_token_types > 0) {
    QUIRE_ASSIGN_OR_RETURN(std::vector<float> all,
                           w.floats(token_types, {hp.n_embd, hp.n_token_types}));
    m->token_type0_.assign(all.begin(), all.begin() + hp.n_embd);
  } else {
    m->token_type0_.assign(static_cast<size_t>(hp.n_embd), 0.0f);
  }
  QUIRE_ASSIGN_OR_RETURN(m->embd_norm_w_,
                         w.floats(tensor_name(LlmTensor::kTokenEmbdNorm, "weight"), {hp.n_embd}));
  QUIRE_ASSIGN_OR_RETURN(m->embd_norm_b_,
                         w.floats(tensor_name(LlmTensor::kTokenEmbdNorm, "bias"), {hp.n_embd}));

  const int64_t e = hp.n_embd, f = hp.n_ff;
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    // Tensor i of this block: "blk.<i>.<base>.weight" (or ".bias").
    auto weight = [i](LlmTensor t) { return tensor_name(t, "weight", i); };
    auto bias = [i](LlmTensor t) { return tensor_name(t, "bias", i); };
    Layer l;
    QUIRE_ASSIGN_OR_RETURN(l.q, w.matrix(weight(LlmTensor::kAttnQ), e, e));
    QUIRE_ASSIGN_OR_RETURN(l.k, w.matrix(weight(LlmTensor::kAttnK), e, e));
    QUIRE_ASSIGN_OR_RETURN(l.v, w.matrix(weight(LlmTensor::kAttnV), e, e));
    QUIRE_ASSIGN_OR_RETURN(l.o, w.matrix(weight(LlmTensor::kAttnOut), e, e));
    QUIRE_ASSIGN_OR_RETURN(l.up, w.matrix(weight(LlmTensor::kFfnUp), e, f));
    QUIRE_ASSIGN_OR_RETURN(l.down, w.matrix(weight(LlmTensor::kFfnDown), f, e));
    QUIRE_ASSIGN_OR_RETURN(l.bq, w.floats(bias(LlmTensor::kAttnQ), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.bk, w.floats(bias(LlmTensor::kAttnK), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.bv, w.floats(bias(LlmTensor::kAttnV), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.bo, w.floats(bias(LlmTensor::kAttnOut), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.b_up, w.floats(bias(LlmTensor::kFfnUp), {f}));
    QUIRE_ASSIGN_OR_RETURN(l.b_down, w.floats(bias(LlmTensor::kFfnDown), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.attn_norm_w, w.floats(weight(LlmTensor::kAttnOutNorm), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.attn_norm_b, w.floats(bias(LlmTensor::kAttnOutNorm), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.out_norm_w, w.floats(weight(LlmTensor::kLayerOutNorm), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.out_norm_b, w.floats(bias(LlmTensor::kLayerOutNorm), {e}));
    m->layers_.push_back(std::move(l));
  }
  // The classification head of a cross-encoder (llama.cpp's names; a pooler then one output).
  const bool has_head = w.has("cls.weight");
  if (has_head) {
    QUIRE_ASSIGN_OR_RETURN(m->head_w_, w.matrix("cls.weight", e, e));
    QUIRE_ASSIGN_OR_RETURN(m->head_b_, w.floats("cls.bias", {e}));
    if (!w.has("cls.output.weight") || !w.has("cls.output.bias")) {
      return unimplemented_error(
          "a classification head without cls.output.weight/bias (a head with no output "
          "projection) is not supported");
    }
    // [e, 1] as converted; [e] after llama-quantize (it writes 1-row weights as 1-D).
    const bool one_d = file.find_tensor("cls.output.weight")->n_dims == 1;
    QUIRE_ASSIGN_OR_RETURN(m->head_out_w_, one_d ? w.floats("cls.output.weight", {e})
                                                 : w.floats("cls.output.weight", {e, 1}));
    QUIRE_ASSIGN_OR_RETURN(std::vector<float> out_b, w.floats("cls.output.bias", {1}));
    m->head_out_b_ = out_b[0];
  }
  if (hp.pooling == PoolingType::kRank && !has_head) {
    return failed_precondition_error(
        "pooling_type 4 (rank) but no classification head (tensor 'cls.weight' is missing)");
  }
  return m;
}

Result<std::vector<float>> BertModel::rank_scores(std::span<const std::vector<TokenId>> sequences,
                                                  const std::vector<float>& hidden,
                                                  ThreadPool& pool, BertScratch& s,
                                                  MatmulPath path) const {
  if (!has_rank_head()) {
    return failed_precondition_error("the model has no classification head (not a reranker)");
  }
  const int64_t e = hp_.n_embd;
  const int64_t n = static_cast<int64_t>(sequences.size());
  std::vector<float> cls(static_cast<size_t>(n * e)), z(static_cast<size_t>(n * e));
  int64_t t0 = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::copy(hidden.begin() + t0 * e, hidden.begin() + (t0 + 1) * e, cls.begin() + i * e);
    t0 += static_cast<int64_t>(sequences[static_cast<size_t>(i)].size());
  }
  std::vector<int64_t> groups(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i <= n; ++i) groups[static_cast<size_t>(i)] = i;  // one row per pair
  matmul(head_w_, cls.data(), n, z.data(), pool, s.matmul, path, kernels(), groups);
  add_bias(z.data(), head_b_, n);
  std::vector<float> scores(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float acc = 0;
    for (int64_t j = 0; j < e; ++j) {
      acc += head_out_w_[static_cast<size_t>(j)] * std::tanh(z[static_cast<size_t>(i * e + j)]);
    }
    scores[static_cast<size_t>(i)] = acc + head_out_b_;
  }
  return scores;
}

Status BertModel::forward(std::span<const std::vector<TokenId>> sequences, std::vector<float>& out,
                          ThreadPool& pool, BertScratch& s, MatmulPath path) const {
  const int64_t e = hp_.n_embd, f = hp_.n_ff;
  std::vector<int64_t> offsets = {0};
  for (size_t i = 0; i < sequences.size(); ++i) {
    const auto& seq = sequences[i];
    const int64_t len = static_cast<int64_t>(seq.size());
    if (len == 0 || len > hp_.n_ctx_train) {
      return invalid_argument_error("sequence " + std::to_string(i) + " has " +
                                    std::to_string(len) + " tokens, expected 1.." +
                                    std::to_string(hp_.n_ctx_train));
    }
    for (TokenId id : seq) {
      if (id < 0 || id >= hp_.n_vocab) {
        return invalid_argument_error("token id " + std::to_string(id) +
                                      " outside the vocabulary of " + std::to_string(hp_.n_vocab));
      }
    }
    offsets.push_back(offsets.back() + len);
  }
  const int64_t n = offsets.back();
  out.resize(static_cast<size_t>(n * e));
  if (n == 0) return ok_status();
  for (auto* buf : {&s.x, &s.q, &s.k, &s.v, &s.attn, &s.tmp})
    buf->resize(static_cast<size_t>(n * e));
  s.ffn.resize(static_cast<size_t>(n * f));

  // Embeddings: token row + position row + token type 0, then LayerNorm.
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(n));
  for (const auto& seq : sequences) ids.insert(ids.end(), seq.begin(), seq.end());
  ops::get_rows(token_embd_->type, token_embd_->data, e, ids.data(), n, s.x.data());
  for (size_t i = 0; i < sequences.size(); ++i) {
    for (int64_t t = offsets[i]; t < offsets[i + 1]; ++t) {
      float* row = s.x.data() + t * e;
      ops::add(row, position_embd_.data() + (t - offsets[i]) * e, row, e);
      ops::add(row, token_type0_.data(), row, e);
    }
  }
  pool.parallel_for(static_cast<size_t>(n), 16, [&](size_t b, size_t end, int) {
    for (size_t t = b; t < end; ++t) {
      float* row = s.x.data() + t * e;
      ops::layernorm(row, embd_norm_w_.data(), embd_norm_b_.data(), row, e, hp_.norm_eps);
    }
  });

  const int64_t head_dim = e / hp_.n_head;
  for (const Layer& l : layers_) {
    matmul(l.q, s.x.data(), n, s.q.data(), pool, s.matmul, path, kernels(), offsets);
    matmul(l.k, s.x.data(), n, s.k.data(), pool, s.matmul, path, kernels(), offsets);
    matmul(l.v, s.x.data(), n, s.v.data(), pool, s.matmul, path, kernels(), offsets);
    add_bias(s.q.data(), l.bq, n);
    add_bias(s.k.data(), l.bk, n);
    add_bias(s.v.data(), l.bv, n);
    ops::attention_bidirectional(s.q.data(), s.k.data(), s.v.data(), s.attn.data(), e, offsets,
                                 hp_.n_head, head_dim, pool, s.attention);
    matmul(l.o, s.attn.data(), n, s.tmp.data(), pool, s.matmul, path, kernels(), offsets);
    add_bias(s.tmp.data(), l.bo, n);
    // x = LN(attn_out + x)
    pool.parallel_for(static_cast<size_t>(n), 16, [&](size_t b, size_t end, int) {
      for (size_t t = b; t < end; ++t) {
        float* row = s.x.data() + t * e;
        ops::add(s.tmp.data() + t * e, row, row, e);
        ops::layernorm(row, l.attn_norm_w.data(), l.attn_norm_b.data(), row, e, hp_.norm_eps);
      }
    });
    matmul(l.up, s.x.data(), n, s.ffn.data(), pool, s.matmul, path, kernels(), offsets);
    pool.parallel_for(static_cast<size_t>(n), 16, [&](size_t b, size_t end, int) {
      for (size_t t = b; t < end; ++t) {
        float* row = s.ffn.data() + t * f;
        ops::add(row, l.b_up.data(), row, f);
        ops::gelu_ggml(row, row, f);
      }
    });
    matmul(l.down, s.ffn.data(), n, s.tmp.data(), pool, s.matmul, path, kernels(), offsets);
    add_bias(s.tmp.data(), l.b_down, n);
    // x = LN(ffn_out + x)
    pool.parallel_for(static_cast<size_t>(n), 16, [&](size_t b, size_t end, int) {
      for (size_t t = b; t < end; ++t) {
        float* row = s.x.data() + t * e;
        ops::add(s.tmp.data() + t * e, row, row, e);
        ops::layernorm(row, l.out_norm_w.data(), l.out_norm_b.data(), row, e, hp_.norm_eps);
      }
    });
  }
  std::copy(s.x.begin(), s.x.begin() + n * e, out.begin());
  return ok_status();
}

std::vector<float> BertModel::pool_and_normalize(std::span<const std::vector<TokenId>> sequences,
                                                 const std::vector<float>& hidden) const {
  const int64_t e = hp_.n_embd;
  std::vector<float> out(sequences.size() * static_cast<size_t>(e));
  int64_t t0 = 0;
  std::vector<double> acc(static_cast<size_t>(e));
  for (size_t i = 0; i < sequences.size(); ++i) {
    const int64_t len = static_cast<int64_t>(sequences[i].size());
    std::fill(acc.begin(), acc.end(), 0.0);
    if (hp_.pooling == PoolingType::kCls) {
      for (int64_t j = 0; j < e; ++j) acc[j] = hidden[t0 * e + j];
    } else {  // mean over every token, [CLS] and [SEP] included (as llama.cpp)
      for (int64_t t = t0; t < t0 + len; ++t) {
        for (int64_t j = 0; j < e; ++j) acc[j] += hidden[t * e + j];
      }
      for (auto& a : acc) a /= static_cast<double>(len);
    }
    double norm = 0;
    for (double a : acc) norm += a * a;
    norm = std::sqrt(norm);
    const double inv = norm > 0 ? 1.0 / norm : 0.0;
    for (int64_t j = 0; j < e; ++j) out[i * e + j] = static_cast<float>(acc[j] * inv);
    t0 += len;
  }
  return out;
}

}  // namespace quire::engine
