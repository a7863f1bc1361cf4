#include "engine/runtime/model_info.h"

#include <algorithm>
#include <array>

namespace quire::engine {
namespace {

// A hyper-parameter that is a number, or an array of per-layer numbers (largest is returned).
std::optional<uint64_t> uint_or_max(const gguf::GgufFile& file, const std::string& key) {
  const gguf::Value* v = file.find(key);
  if (v == nullptr) return std::nullopt;
  if (auto x = v->as_uint()) return x;
  if (const gguf::Array* a = v->as_array()) {
    std::optional<uint64_t> best;
    for (size_t i = 0; i < a->size(); ++i) {
      auto x = a->number_at(i);
      if (x && *x >= 0) best = std::max<uint64_t>(best.value_or(0), static_cast<uint64_t>(*x));
    }
    return best;
  }
  return std::nullopt;
}

std::string tokenizer_kind(const std::string& model) {
  if (model == "llama") return "SentencePiece";
  if (model == "gpt2") return "BPE (byte-level)";
  if (model == "bert") return "WordPiece";
  if (model == "t5") return "Unigram (T5)";
  if (model == "rwkv") return "RWKV";
  if (model == "none" || model.empty()) return "none";
  return "unknown (" + model + ")";
}

constexpr std::array<std::string_view, 4> kEncoderArchitectures = {"bert", "nomic-bert",
                                                                   "jina-bert-v2", "t5encoder"};

}  // namespace

std::string_view kv_cache_type_name(KvCacheType type) {
  switch (type) {
    case KvCacheType::kF32:
      return "f32";
    case KvCacheType::kF16:
      return "f16";
    case KvCacheType::kQ8_0:
      return "q8_0";
  }
  return "?";
}

std::optional<KvCacheType> kv_cache_type_from_name(std::string_view name) {
  if (name == "f32") return KvCacheType::kF32;
  if (name == "f16") return KvCacheType::kF16;
  if (name == "q8_0") return KvCacheType::kQ8_0;
  return std::nullopt;
}

Result<ModelInfo> describe_model(const gguf::GgufFile& file) {
  ModelInfo info;
  info.architecture = file.architecture();
  info.name = file.get_string("general.name").value_or("");
  if (auto ft = file.get_uint("general.file_type"); ft && *ft <= UINT32_MAX) {
    info.file_type = static_cast<uint32_t>(*ft);
    info.file_type_name = std::string(file_type_name(*info.file_type).value_or(""));
  }

  const std::string p = info.architecture + ".";
  info.context_length = file.get_uint(p + "context_length");
  info.embedding_length = file.get_uint(p + "embedding_length");
  info.block_count = file.get_uint(p + "block_count");
  info.feed_forward_length = uint_or_max(file, p + "feed_forward_length");
  info.head_count = uint_or_max(file, p + "attention.head_count");
  info.head_count_kv = uint_or_max(file, p + "attention.head_count_kv");
  if (!info.head_count_kv) info.head_count_kv = info.head_count;
  info.key_length = file.get_uint(p + "attention.key_length");
  info.value_length = file.get_uint(p + "attention.value_length");
  if (info.head_count && *info.head_count == 0) {
    return data_loss_error("'" + file.source() + "': " + p + "attention.head_count is 0");
  }
  if (!info.key_length && info.embedding_length && info.head_count) {
    info.key_length = *info.embedding_length / *info.head_count;
  }
  if (!info.value_length) info.value_length = info.key_length;
  info.expert_count = file.get_uint(p + "expert_count");
  info.expert_used_count = file.get_uint(p + "expert_used_count");
  info.pooling_type = file.get_uint(p + "pooling_type");
  const bool encoder_arch = std::find(kEncoderArchitectures.begin(), kEncoderArchitectures.end(),
                                      info.architecture) != kEncoderArchitectures.end();
  info.causal = file.get_bool(p + "attention.causal").value_or(!encoder_arch);

  info.tokenizer_model = file.get_string("tokenizer.ggml.model").value_or("");
  info.tokenizer_pre = file.get_string("tokenizer.ggml.pre").value_or("");
  info.tokenizer_kind = tokenizer_kind(info.tokenizer_model);
  if (const gguf::Array* tokens = file.get_array("tokenizer.ggml.tokens")) {
    info.vocab_size = tokens->size();
  } else if (auto n = file.get_uint(p + "vocab_size")) {
    info.vocab_size = n;
  } else if (const auto* embd = file.find_tensor("token_embd.weight")) {
    info.vocab_size = static_cast<uint64_t>(embd->ne[1]);
  }
  info.has_chat_template = file.get_string("tokenizer.chat_template").has_value();

  // Parameters: every tensor element. Expert tensors (`*_exps`, experts along ne[2]) count
  // expert_used_count / expert_count toward the active parameters.
  const uint64_t n_expert = info.expert_count.value_or(0);
  const uint64_t n_expert_used = info.expert_used_count.value_or(n_expert);
  for (const auto& t : file.tensors()) {
    info.parameters += t.n_elements;
    info.weights_bytes += t.n_bytes;
    const bool expert_tensor = n_expert > 0 && t.name.find("_exps") != std::string::npos &&
                               static_cast<uint64_t>(t.ne[2]) == n_expert;
    info.parameters_active +=
        expert_tensor ? t.n_elements / n_expert * n_expert_used : t.n_elements;
    auto it = std::find_if(info.tensor_types.begin(), info.tensor_types.end(),
                           [&](const TensorTypeStats& s) { return s.type == t.type; });
    if (it == info.tensor_types.end()) {
      info.tensor_types.push_back(TensorTypeStats{t.type});
      it = info.tensor_types.end() - 1;
    }
    it->count += 1;
    it->elements += t.n_elements;
    it->bytes += t.n_bytes;
  }
  std::stable_sort(
      info.tensor_types.begin(), info.tensor_types.end(),
      [](const TensorTypeStats& a, const TensorTypeStats& b) { return a.bytes > b.bytes; });
  return info;
}

Result<MemoryEstimate> estimate_memory(const ModelInfo& info, uint64_t n_ctx, KvCacheType kv_type) {
  if (!info.block_count || !info.embedding_length || !info.head_count) {
    return failed_precondition_error(
        "no memory estimate: the file lacks block_count, embedding_length or head_count "
        "(a vocabulary-only file?)");
  }
  MemoryEstimate m;
  m.n_ctx = n_ctx != 0 ? n_ctx : info.context_length.value_or(0);
  if (m.n_ctx == 0) {
    return failed_precondition_error("no context length in the file; pass --ctx N");
  }
  m.kv_type = kv_type;
  m.weights_bytes = info.weights_bytes;

  const uint64_t n_layer = *info.block_count;
  const uint64_t n_embd = *info.embedding_length;
  const uint64_t n_head = *info.head_count;
  const uint64_t n_head_kv = info.head_count_kv.value_or(n_head);
  const uint64_t n_ff = info.feed_forward_length.value_or(4 * n_embd);
  const uint64_t k_dim = n_head_kv * info.key_length.value_or(n_embd / n_head);
  const uint64_t v_dim = n_head_kv * info.value_length.value_or(n_embd / n_head);

  auto cache_row_bytes = [&](uint64_t n) -> uint64_t {
    switch (kv_type) {
      case KvCacheType::kF32:
        return n * 4;
      case KvCacheType::kF16:
        return n * 2;
      case KvCacheType::kQ8_0:
        return (n + 31) / 32 * 34;  // Q8_0 blocks of 32
    }
    return 0;
  };
  if (info.causal) {
    m.kv_cache_bytes = n_layer * m.n_ctx * (cache_row_bytes(k_dim) + cache_row_bytes(v_dim));
  }

  const uint64_t n_batch = std::min<uint64_t>(m.n_ctx, 512);
  const uint64_t n_keys = info.causal ? m.n_ctx : n_batch;
  uint64_t scratch_floats = n_batch * (8 * n_embd + 3 * n_ff) + n_head * n_batch * n_keys;
  if (info.causal) scratch_floats += info.vocab_size.value_or(0);
  m.scratch_bytes = scratch_floats * 4;
  m.total_bytes = m.weights_bytes + m.kv_cache_bytes + m.scratch_bytes;
  return m;
}

}  // namespace quire::engine
