#include "engine/runtime/model_info.h"

#include <algorithm>

#include "engine/arch/registry.h"
#include "engine/gguf/gguf_names.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {
namespace {

using gguf::ArchKv;

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

// Bytes of one cache row of n values, in whole blocks of the cache type. (A Q8_0 cache needs
// heads of whole blocks; the estimate still answers for a file that has others.)
uint64_t cache_row_bytes(KvType type, uint64_t n) {
  const GgmlTypeInfo& info = ggml_type_info(kv_ggml_type(type));
  return (n + info.block_size - 1) / info.block_size * info.type_size;
}

}  // namespace

Result<ModelInfo> describe_model(const gguf::GgufFile& file) {
  ModelInfo info;
  info.architecture = file.architecture();
  info.name = file.get_string(gguf::kKvGeneralName).value_or("");
  if (auto ft = file.get_uint(gguf::kKvGeneralFileType); ft && *ft <= UINT32_MAX) {
    info.file_type = static_cast<uint32_t>(*ft);
    info.file_type_name = std::string(file_type_name(*info.file_type).value_or(""));
  }

  const auto key = [&](ArchKv k) { return gguf::arch_kv(info.architecture, k); };
  info.context_length = file.get_uint(key(ArchKv::kContextLength));
  info.embedding_length = file.get_uint(key(ArchKv::kEmbeddingLength));
  info.block_count = file.get_uint(key(ArchKv::kBlockCount));
  info.feed_forward_length = uint_or_max(file, key(ArchKv::kFeedForwardLength));
  info.head_count = uint_or_max(file, key(ArchKv::kAttentionHeadCount));
  info.head_count_kv = uint_or_max(file, key(ArchKv::kAttentionHeadCountKv));
  if (!info.head_count_kv) info.head_count_kv = info.head_count;
  info.key_length = file.get_uint(key(ArchKv::kAttentionKeyLength));
  info.value_length = file.get_uint(key(ArchKv::kAttentionValueLength));
  if (info.head_count && *info.head_count == 0) {
    return data_loss_error("'" + file.source() + "': " + key(ArchKv::kAttentionHeadCount) +
                           " is 0");
  }
  if (!info.key_length && info.embedding_length && info.head_count) {
    info.key_length = *info.embedding_length / *info.head_count;
  }
  if (!info.value_length) info.value_length = info.key_length;
  info.expert_count = file.get_uint(key(ArchKv::kExpertCount));
  info.expert_used_count = file.get_uint(key(ArchKv::kExpertUsedCount));
  info.pooling_type = file.get_uint(key(ArchKv::kPoolingType));
  // Encoders of the registry (run by quire or not) are bidirectional unless the file says.
  const ArchEntry* arch = find_arch(info.architecture);
  const bool encoder_arch = arch != nullptr && arch->kind == ArchKind::kEncoder;
  info.causal = file.get_bool(key(ArchKv::kAttentionCausal)).value_or(!encoder_arch);

  info.tokenizer_model = file.get_string(gguf::kKvTokenizerModel).value_or("");
  info.tokenizer_pre = file.get_string(gguf::kKvTokenizerPre).value_or("");
  info.tokenizer_kind = tokenizer_kind_name(info.tokenizer_model);
  if (const gguf::Array* tokens = file.get_array(gguf::kKvTokenizerList)) {
    info.vocab_size = tokens->size();
  } else if (auto n = file.get_uint(key(ArchKv::kVocabSize))) {
    info.vocab_size = n;
  } else if (const auto* embd =
                 file.find_tensor(gguf::tensor_name(gguf::LlmTensor::kTokenEmbd, "weight"))) {
    info.vocab_size = static_cast<uint64_t>(embd->ne[1]);
  }
  info.has_chat_template = file.get_string(gguf::kKvTokenizerChatTemplate).has_value();

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

Result<MemoryEstimate> estimate_memory(const ModelInfo& info, uint64_t n_ctx, KvType kv_type) {
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

  if (info.causal) {
    m.kv_cache_bytes =
        n_layer * m.n_ctx * (cache_row_bytes(kv_type, k_dim) + cache_row_bytes(kv_type, v_dim));
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
