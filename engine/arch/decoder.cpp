#include "engine/arch/decoder.h"

#include <algorithm>
#include <set>

#include "engine/core/log.h"
#include "engine/gguf/gguf_names.h"
#include "engine/model/weights.h"

namespace quire::engine {
namespace {

using gguf::ArchKv;
using gguf::LlmTensor;
using gguf::tensor_name;

void add_bias(float* y, const std::vector<float>& b, int64_t n_rows, int64_t stride) {
  if (b.empty()) return;
  const int64_t n = static_cast<int64_t>(b.size());
  for (int64_t t = 0; t < n_rows; ++t) ops::add(y + t * stride, b.data(), y + t * stride, n);
}

}  // namespace

Result<std::unique_ptr<DecoderModel>> DecoderModel::load(const gguf::GgufFile& file,
                                                         const DecoderTraits& traits) {
  std::unique_ptr<DecoderModel> m(new DecoderModel());
  DecoderHParams& hp = m->hp_;
  hp.arch = std::string(traits.arch);
  auto need = [&](ArchKv key) -> Result<int64_t> {
    const std::string name = gguf::arch_kv(hp.arch, key);
    auto v = file.get_uint(name);
    if (!v || *v == 0 || *v > (1u << 24)) {
      return failed_precondition_error("metadata '" + name + "' is missing or out of range");
    }
    return static_cast<int64_t>(*v);
  };
  auto optional = [&](ArchKv key, int64_t fallback) -> Result<int64_t> {
    if (!file.get_uint(gguf::arch_kv(hp.arch, key))) return fallback;
    return need(key);
  };
  QUIRE_ASSIGN_OR_RETURN(hp.n_embd, need(ArchKv::kEmbeddingLength));
  QUIRE_ASSIGN_OR_RETURN(hp.n_layer, need(ArchKv::kBlockCount));
  QUIRE_ASSIGN_OR_RETURN(hp.n_head, need(ArchKv::kAttentionHeadCount));
  QUIRE_ASSIGN_OR_RETURN(hp.n_head_kv, optional(ArchKv::kAttentionHeadCountKv, hp.n_head));
  QUIRE_ASSIGN_OR_RETURN(hp.n_ff, need(ArchKv::kFeedForwardLength));
  QUIRE_ASSIGN_OR_RETURN(hp.n_ctx_train, need(ArchKv::kContextLength));
  if (hp.n_embd % hp.n_head != 0 &&
      !file.get_uint(gguf::arch_kv(hp.arch, ArchKv::kAttentionKeyLength))) {
    return failed_precondition_error("embedding_length " + std::to_string(hp.n_embd) +
                                     " is not a multiple of head_count " +
                                     std::to_string(hp.n_head));
  }
  QUIRE_ASSIGN_OR_RETURN(hp.head_dim, optional(ArchKv::kAttentionKeyLength, hp.n_embd / hp.n_head));
  QUIRE_ASSIGN_OR_RETURN(const int64_t value_dim,
                         optional(ArchKv::kAttentionValueLength, hp.head_dim));
  if (value_dim != hp.head_dim) {
    return unimplemented_error("attention.value_length " + std::to_string(value_dim) +
                               " differs from key_length " + std::to_string(hp.head_dim));
  }
  if (hp.n_head % hp.n_head_kv != 0) {
    return failed_precondition_error("head_count " + std::to_string(hp.n_head) +
                                     " is not a multiple of head_count_kv " +
                                     std::to_string(hp.n_head_kv));
  }
  QUIRE_ASSIGN_OR_RETURN(hp.n_rot, optional(ArchKv::kRopeDimensionCount, hp.head_dim));
  if (hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0) {
    return failed_precondition_error("rope.dimension_count " + std::to_string(hp.n_rot) +
                                     " must be even and at most the head size " +
                                     std::to_string(hp.head_dim));
  }
  hp.rope_base = static_cast<float>(file.get_double(gguf::arch_kv(hp.arch, ArchKv::kRopeFreqBase))
                                        .value_or(traits.default_rope_base));
  hp.rms_eps =
      static_cast<float>(file.get_double(gguf::arch_kv(hp.arch, ArchKv::kAttentionLayerNormRmsEps))
                             .value_or(traits.default_rms_eps));
  hp.rope = traits.rope;
  if (auto scaling = file.get_string(gguf::arch_kv(hp.arch, ArchKv::kRopeScalingType));
      scaling && *scaling != "none" && *scaling != "") {
    return unimplemented_error("rope scaling '" + *scaling + "' is not implemented");
  }
  const std::string rope_freqs = tensor_name(LlmTensor::kRopeFreqs, "weight");
  if (file.find_tensor(rope_freqs) != nullptr) {
    return unimplemented_error("rope frequency factors (" + rope_freqs +
                               ", Llama 3.1 long-context scaling) are not implemented");
  }

  WeightLoader w(file);
  const std::string token_embd = tensor_name(LlmTensor::kTokenEmbd, "weight");
  const gguf::TensorInfo* embd = file.find_tensor(token_embd);
  if (embd == nullptr) return not_found_error("tensor '" + token_embd + "' is missing");
  hp.n_vocab = embd->ne[1];
  QUIRE_ASSIGN_OR_RETURN(m->token_embd_, w.tensor(token_embd, {hp.n_embd, hp.n_vocab}));
  QUIRE_ASSIGN_OR_RETURN(m->output_norm_,
                         w.floats(tensor_name(LlmTensor::kOutputNorm, "weight"), {hp.n_embd}));
  if (const std::string output = tensor_name(LlmTensor::kOutput, "weight"); w.has(output)) {
    QUIRE_ASSIGN_OR_RETURN(m->output_, w.matrix(output, hp.n_embd, hp.n_vocab));
  } else {
    hp.tied_output = true;
    QUIRE_ASSIGN_OR_RETURN(m->output_, w.matrix(token_embd, hp.n_embd, hp.n_vocab));
  }

  const int64_t e = hp.n_embd, f = hp.n_ff, qd = hp.q_dim(), kvd = hp.kv_dim();
  uint64_t bytes = m->output_.row_bytes() * static_cast<uint64_t>(hp.n_vocab) +
                   ggml_row_size(embd->type, static_cast<uint64_t>(e));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    // Tensor i of this block: "blk.<i>.<base>.weight" (or ".bias").
    auto weight = [i](LlmTensor t) { return tensor_name(t, "weight", i); };
    auto bias = [i](LlmTensor t) { return tensor_name(t, "bias", i); };
    Layer l;
    QUIRE_ASSIGN_OR_RETURN(l.attn_norm, w.floats(weight(LlmTensor::kAttnNorm), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.q, w.matrix(weight(LlmTensor::kAttnQ), e, qd));
    QUIRE_ASSIGN_OR_RETURN(l.k, w.matrix(weight(LlmTensor::kAttnK), e, kvd));
    QUIRE_ASSIGN_OR_RETURN(l.v, w.matrix(weight(LlmTensor::kAttnV), e, kvd));
    QUIRE_ASSIGN_OR_RETURN(l.o, w.matrix(weight(LlmTensor::kAttnOut), qd, e));
    if (traits.qkv_bias) {
      QUIRE_ASSIGN_OR_RETURN(l.bq, w.floats(bias(LlmTensor::kAttnQ), {qd}));
      QUIRE_ASSIGN_OR_RETURN(l.bk, w.floats(bias(LlmTensor::kAttnK), {kvd}));
      QUIRE_ASSIGN_OR_RETURN(l.bv, w.floats(bias(LlmTensor::kAttnV), {kvd}));
    }
    if (traits.qk_norm) {
      QUIRE_ASSIGN_OR_RETURN(l.q_norm, w.floats(weight(LlmTensor::kAttnQNorm), {hp.head_dim}));
      QUIRE_ASSIGN_OR_RETURN(l.k_norm, w.floats(weight(LlmTensor::kAttnKNorm), {hp.head_dim}));
    }
    QUIRE_ASSIGN_OR_RETURN(l.ffn_norm, w.floats(weight(LlmTensor::kFfnNorm), {e}));
    QUIRE_ASSIGN_OR_RETURN(l.gate, w.matrix(weight(LlmTensor::kFfnGate), e, f));
    QUIRE_ASSIGN_OR_RETURN(l.up, w.matrix(weight(LlmTensor::kFfnUp), e, f));
    QUIRE_ASSIGN_OR_RETURN(l.down, w.matrix(weight(LlmTensor::kFfnDown), f, e));
    for (const WeightMatrix* mat : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) {
      bytes += mat->row_bytes() * static_cast<uint64_t>(mat->n_out);
    }
    m->layers_.push_back(std::move(l));
  }
  m->weight_bytes_per_token_ = bytes;
  return m;
}

void DecoderModel::project(const WeightMatrix& w, const float* x, float* y,
                           const std::vector<RowGroup>& groups, ThreadPool& pool,
                           MatmulScratch& scratch) const {
  for (const RowGroup& g : groups) {
    const MatmulPath path =
        g.path == MatmulPath::kAuto ? choose_matmul_path(w.type, g.end - g.begin) : g.path;
    matmul(w, x + g.begin * w.n_in, g.end - g.begin, y + g.begin * w.n_out, pool, scratch, path);
  }
}

void DecoderModel::project_multi(std::span<const WeightMatrix* const> ws, const float* x,
                                 std::span<float* const> ys, const std::vector<RowGroup>& groups,
                                 ThreadPool& pool, MatmulScratch& scratch) const {
  for (const RowGroup& g : groups) {
    float* yg[8];
    for (size_t i = 0; i < ws.size(); ++i) yg[i] = ys[i] + g.begin * ws[i]->n_out;
    matmul_multi(ws, x + g.begin * ws[0]->n_in, g.end - g.begin, {yg, ws.size()}, pool, scratch,
                 g.path);
  }
}

std::vector<DecoderModel::RowGroup> DecoderModel::make_groups(std::span<const int64_t> lengths,
                                                              MatmulPath path) {
  std::vector<RowGroup> groups;
  bool last_is_singles = false;
  int64_t row = 0;
  for (const int64_t n : lengths) {
    const bool single = n == 1 && path != MatmulPath::kBlas;
    if (single && last_is_singles) {
      groups.back().end += 1;
    } else {
      groups.push_back({row, row + n, single ? MatmulPath::kQuantized : path});
    }
    last_is_singles = single;
    row += n;
  }
  return groups;
}

Status DecoderModel::forward(std::span<const StepEntry> step, KvCache& cache,
                             std::vector<float>& logits, ThreadPool& pool, DecoderScratch& s,
                             MatmulPath path) const {
  const DecoderHParams& hp = hp_;
  // Validate everything before touching the cache.
  std::set<int> seen;
  int64_t n_rows = 0, n_out_rows = 0;
  for (const StepEntry& entry : step) {
    if (!cache.has_sequence(entry.seq)) {
      return invalid_argument_error("sequence " + std::to_string(entry.seq) +
                                    " is not in the KV cache");
    }
    if (!seen.insert(entry.seq).second) {
      return invalid_argument_error("sequence " + std::to_string(entry.seq) +
                                    " appears twice in one step");
    }
    if (entry.tokens.empty()) return invalid_argument_error("a step entry has no tokens");
    for (TokenId id : entry.tokens) {
      if (id < 0 || id >= hp.n_vocab) {
        return invalid_argument_error("token id " + std::to_string(id) +
                                      " is outside the vocabulary (" + std::to_string(hp.n_vocab) +
                                      " tokens)");
      }
    }
    const int64_t n = static_cast<int64_t>(entry.tokens.size());
    if (cache.length(entry.seq) + n > cache.n_ctx()) {
      return resource_exhausted_error(
          "context full: sequence " + std::to_string(entry.seq) + " holds " +
          std::to_string(cache.length(entry.seq)) + " tokens, " + std::to_string(n) +
          " more exceed the context length " + std::to_string(cache.n_ctx()));
    }
    n_rows += n;
    n_out_rows += entry.all_logits ? n : 1;
  }
  if (n_rows == 0) {
    logits.clear();
    return Status();
  }
  for (const StepEntry& entry : step) {
    QUIRE_RETURN_IF_ERROR(cache.reserve(entry.seq, static_cast<int64_t>(entry.tokens.size())));
  }

  // Row layout: entries in order, tokens in order.
  std::vector<int64_t> first_row(step.size() + 1, 0);
  for (size_t i = 0; i < step.size(); ++i) {
    first_row[i + 1] = first_row[i] + static_cast<int64_t>(step[i].tokens.size());
  }
  std::vector<int64_t> lengths(step.size());
  for (size_t i = 0; i < step.size(); ++i) lengths[i] = first_row[i + 1] - first_row[i];
  std::vector<RowGroup> groups = make_groups(lengths, path);

  const int64_t e = hp.n_embd, qd = hp.q_dim(), kvd = hp.kv_dim(), f = hp.n_ff;
  const auto rows = static_cast<size_t>(n_rows);
  s.x.resize(rows * static_cast<size_t>(e));
  s.h.resize(rows * static_cast<size_t>(e));
  s.q.resize(rows * static_cast<size_t>(qd));
  s.k.resize(rows * static_cast<size_t>(kvd));
  s.v.resize(rows * static_cast<size_t>(kvd));
  s.attn.resize(rows * static_cast<size_t>(qd));
  s.gate.resize(rows * static_cast<size_t>(f));
  s.up.resize(rows * static_cast<size_t>(f));
  s.ids.resize(rows);
  for (size_t i = 0; i < step.size(); ++i) {
    std::copy(step[i].tokens.begin(), step[i].tokens.end(), s.ids.begin() + first_row[i]);
  }
  ops::get_rows(token_embd_->type, token_embd_->data, e, s.ids.data(), n_rows, s.x.data());

  // Position of each row.
  std::vector<int64_t> row_pos(rows), row_entry(rows);
  for (size_t i = 0; i < step.size(); ++i) {
    const int64_t base = cache.length(step[i].seq);
    for (int64_t r = first_row[i]; r < first_row[i + 1]; ++r) {
      row_pos[static_cast<size_t>(r)] = base + (r - first_row[i]);
      row_entry[static_cast<size_t>(r)] = static_cast<int64_t>(i);
    }
  }

  const GgmlType kv_type = kv_ggml_type(cache.type());
  const TypeKernels* q8 = kernels().find(GgmlType::Q8_0);
  const int64_t hd = hp.head_dim;
  const size_t head_bytes = cache.head_bytes();
  std::vector<ops::CausalChunk> chunks(step.size());

  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const Layer& L = layers_[static_cast<size_t>(il)];
    pool.parallel_for(rows, 64, [&](size_t b, size_t end, int) {
      for (size_t r = b; r < end; ++r) {
        ops::rmsnorm(s.x.data() + r * e, L.attn_norm.data(), s.h.data() + r * e, e, hp.rms_eps);
      }
    });
    {
      const WeightMatrix* ws[3] = {&L.q, &L.k, &L.v};
      float* ys[3] = {s.q.data(), s.k.data(), s.v.data()};
      project_multi(ws, s.h.data(), ys, groups, pool, s.matmul);
    }
    add_bias(s.q.data(), L.bq, n_rows, qd);
    add_bias(s.k.data(), L.bk, n_rows, kvd);
    add_bias(s.v.data(), L.bv, n_rows, kvd);

    // Per row: q/k norm, RoPE, then K and V stored in the cache in its type.
    pool.parallel_for(rows, 16, [&](size_t b, size_t end, int) {
      for (size_t r = b; r < end; ++r) {
        float* q = s.q.data() + r * qd;
        float* k = s.k.data() + r * kvd;
        const float* v = s.v.data() + r * kvd;
        if (!L.q_norm.empty()) {
          for (int64_t h = 0; h < hp.n_head; ++h) {
            ops::rmsnorm(q + h * hd, L.q_norm.data(), q + h * hd, hd, hp.rms_eps);
          }
          for (int64_t h = 0; h < hp.n_head_kv; ++h) {
            ops::rmsnorm(k + h * hd, L.k_norm.data(), k + h * hd, hd, hp.rms_eps);
          }
        }
        ops::rope(q, hp.n_head, hd, hp.n_rot, row_pos[r], hp.rope_base, hp.rope);
        ops::rope(k, hp.n_head_kv, hd, hp.n_rot, row_pos[r], hp.rope_base, hp.rope);
        const int seq = step[static_cast<size_t>(row_entry[r])].seq;
        uint8_t* kd = cache.k_row(seq, il, row_pos[r]);
        uint8_t* vd = cache.v_row(seq, il, row_pos[r]);
        switch (kv_type) {
          case GgmlType::F32:
            std::copy(k, k + kvd, reinterpret_cast<float*>(kd));
            std::copy(v, v + kvd, reinterpret_cast<float*>(vd));
            break;
          case GgmlType::F16:
            ops::to_f16(k, reinterpret_cast<uint16_t*>(kd), kvd);
            ops::to_f16(v, reinterpret_cast<uint16_t*>(vd), kvd);
            break;
          default:
            for (int64_t h = 0; h < hp.n_head_kv; ++h) {
              q8->quantize_activation(k + h * hd, kd + h * head_bytes, hd);
              q8->quantize_activation(v + h * hd, vd + h * head_bytes, hd);
            }
            break;
        }
      }
    });

    // Causal attention of every entry over its sequence's cache rows of this layer.
    for (size_t i = 0; i < step.size(); ++i) {
      const int seq = step[i].seq;
      chunks[i] = {.first_row = first_row[i],
                   .n_tokens = lengths[i],
                   .n_past = cache.length(seq),
                   .k = cache.k_row(seq, il, 0),
                   .v = cache.v_row(seq, il, 0),
                   .row_stride = cache.row_bytes()};
    }
    ops::attention_causal(kv_type, s.q.data(), s.attn.data(), hp.n_head, hp.n_head_kv, hd, chunks,
                          pool, s.attention);

    project(L.o, s.attn.data(), s.h.data(), groups, pool, s.matmul);
    ops::add(s.x.data(), s.h.data(), s.x.data(), n_rows * e);
    pool.parallel_for(rows, 64, [&](size_t b, size_t end, int) {
      for (size_t r = b; r < end; ++r) {
        ops::rmsnorm(s.x.data() + r * e, L.ffn_norm.data(), s.h.data() + r * e, e, hp.rms_eps);
      }
    });
    {
      const WeightMatrix* ws[2] = {&L.gate, &L.up};
      float* ys[2] = {s.gate.data(), s.up.data()};
      project_multi(ws, s.h.data(), ys, groups, pool, s.matmul);
    }
    ops::swiglu(s.gate.data(), s.up.data(), s.gate.data(), n_rows * f);
    project(L.down, s.gate.data(), s.h.data(), groups, pool, s.matmul);
    ops::add(s.x.data(), s.h.data(), s.x.data(), n_rows * e);
  }
  for (const StepEntry& entry : step) {
    cache.commit(entry.seq, static_cast<int64_t>(entry.tokens.size()));
  }

  // Output rows: every row of all_logits entries, else the last.
  s.logits_in.resize(static_cast<size_t>(n_out_rows * e));
  int64_t o = 0;
  for (size_t i = 0; i < step.size(); ++i) {
    const int64_t r0 = step[i].all_logits ? first_row[i] : first_row[i + 1] - 1;
    for (int64_t r = r0; r < first_row[i + 1]; ++r, ++o) {
      ops::rmsnorm(s.x.data() + r * e, output_norm_.data(), s.logits_in.data() + o * e, e,
                   hp.rms_eps);
    }
  }
  for (size_t i = 0; i < step.size(); ++i) {
    if (!step[i].all_logits) lengths[i] = 1;
  }
  groups = make_groups(lengths, path);
  logits.resize(static_cast<size_t>(n_out_rows * hp.n_vocab));
  project(output_, s.logits_in.data(), logits.data(), groups, pool, s.matmul);
  return Status();
}

}  // namespace quire::engine
