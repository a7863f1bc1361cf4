#include "engine/gguf/gguf_names.h"

#include <array>
#include <cctype>

namespace quire::engine::gguf {
namespace {

constexpr std::array<ArchKvName, kArchKvCount> kArchKvs = {{
    {ArchKv::kVocabSize, "LLM_KV_VOCAB_SIZE", "vocab_size"},
    {ArchKv::kContextLength, "LLM_KV_CONTEXT_LENGTH", "context_length"},
    {ArchKv::kEmbeddingLength, "LLM_KV_EMBEDDING_LENGTH", "embedding_length"},
    {ArchKv::kBlockCount, "LLM_KV_BLOCK_COUNT", "block_count"},
    {ArchKv::kFeedForwardLength, "LLM_KV_FEED_FORWARD_LENGTH", "feed_forward_length"},
    {ArchKv::kPoolingType, "LLM_KV_POOLING_TYPE", "pooling_type"},
    {ArchKv::kExpertCount, "LLM_KV_EXPERT_COUNT", "expert_count"},
    {ArchKv::kExpertUsedCount, "LLM_KV_EXPERT_USED_COUNT", "expert_used_count"},
    {ArchKv::kAttentionHeadCount, "LLM_KV_ATTENTION_HEAD_COUNT", "attention.head_count"},
    {ArchKv::kAttentionHeadCountKv, "LLM_KV_ATTENTION_HEAD_COUNT_KV", "attention.head_count_kv"},
    {ArchKv::kAttentionKeyLength, "LLM_KV_ATTENTION_KEY_LENGTH", "attention.key_length"},
    {ArchKv::kAttentionValueLength, "LLM_KV_ATTENTION_VALUE_LENGTH", "attention.value_length"},
    {ArchKv::kAttentionLayerNormEps, "LLM_KV_ATTENTION_LAYERNORM_EPS",
     "attention.layer_norm_epsilon"},
    {ArchKv::kAttentionLayerNormRmsEps, "LLM_KV_ATTENTION_LAYERNORM_RMS_EPS",
     "attention.layer_norm_rms_epsilon"},
    {ArchKv::kAttentionCausal, "LLM_KV_ATTENTION_CAUSAL", "attention.causal"},
    {ArchKv::kRopeDimensionCount, "LLM_KV_ROPE_DIMENSION_COUNT", "rope.dimension_count"},
    {ArchKv::kRopeFreqBase, "LLM_KV_ROPE_FREQ_BASE", "rope.freq_base"},
    {ArchKv::kRopeScalingType, "LLM_KV_ROPE_SCALING_TYPE", "rope.scaling.type"},
}};

constexpr std::array<LlmTensorName, kLlmTensorCount> kLlmTensors = {{
    {LlmTensor::kTokenEmbd, "LLM_TENSOR_TOKEN_EMBD", "token_embd", false},
    {LlmTensor::kTokenEmbdNorm, "LLM_TENSOR_TOKEN_EMBD_NORM", "token_embd_norm", false},
    {LlmTensor::kTokenTypes, "LLM_TENSOR_TOKEN_TYPES", "token_types", false},
    {LlmTensor::kPosEmbd, "LLM_TENSOR_POS_EMBD", "position_embd", false},
    {LlmTensor::kOutputNorm, "LLM_TENSOR_OUTPUT_NORM", "output_norm", false},
    {LlmTensor::kOutput, "LLM_TENSOR_OUTPUT", "output", false},
    {LlmTensor::kRopeFreqs, "LLM_TENSOR_ROPE_FREQS", "rope_freqs", false},
    {LlmTensor::kAttnNorm, "LLM_TENSOR_ATTN_NORM", "attn_norm", true},
    {LlmTensor::kAttnQ, "LLM_TENSOR_ATTN_Q", "attn_q", true},
    {LlmTensor::kAttnK, "LLM_TENSOR_ATTN_K", "attn_k", true},
    {LlmTensor::kAttnV, "LLM_TENSOR_ATTN_V", "attn_v", true},
    {LlmTensor::kAttnQkv, "LLM_TENSOR_ATTN_QKV", "attn_qkv", true},
    {LlmTensor::kAttnOut, "LLM_TENSOR_ATTN_OUT", "attn_output", true},
    {LlmTensor::kAttnQNorm, "LLM_TENSOR_ATTN_Q_NORM", "attn_q_norm", true},
    {LlmTensor::kAttnKNorm, "LLM_TENSOR_ATTN_K_NORM", "attn_k_norm", true},
    {LlmTensor::kAttnOutNorm, "LLM_TENSOR_ATTN_OUT_NORM", "attn_output_norm", true},
    {LlmTensor::kFfnNorm, "LLM_TENSOR_FFN_NORM", "ffn_norm", true},
    {LlmTensor::kFfnGateInp, "LLM_TENSOR_FFN_GATE_INP", "ffn_gate_inp", true},
    {LlmTensor::kFfnGate, "LLM_TENSOR_FFN_GATE", "ffn_gate", true},
    {LlmTensor::kFfnUp, "LLM_TENSOR_FFN_UP", "ffn_up", true},
    {LlmTensor::kFfnDown, "LLM_TENSOR_FFN_DOWN", "ffn_down", true},
    {LlmTensor::kLayerOutNorm, "LLM_TENSOR_LAYER_OUT_NORM", "layer_output_norm", true},
}};

// The tables are indexed by enum value; an entry out of place is a bug caught at compile time.
constexpr bool arch_kvs_in_order() {
  for (size_t i = 0; i < kArchKvs.size(); ++i) {
    if (static_cast<size_t>(kArchKvs[i].key) != i) return false;
  }
  return true;
}
constexpr bool llm_tensors_in_order() {
  for (size_t i = 0; i < kLlmTensors.size(); ++i) {
    if (static_cast<size_t>(kLlmTensors[i].tensor) != i) return false;
  }
  return true;
}
static_assert(arch_kvs_in_order(), "kArchKvs must list ArchKv values in enum order");
static_assert(llm_tensors_in_order(), "kLlmTensors must list LlmTensor values in enum order");

}  // namespace

std::span<const ArchKvName> arch_kv_table() {
  return kArchKvs;
}

std::string_view arch_kv_suffix(ArchKv key) {
  return kArchKvs[static_cast<size_t>(key)].suffix;
}

std::string arch_kv(std::string_view arch, ArchKv key) {
  const std::string_view suffix = arch_kv_suffix(key);
  std::string out;
  out.reserve(arch.size() + 1 + suffix.size());
  out += arch;
  out += '.';
  out += suffix;
  return out;
}

std::span<const LlmTensorName> llm_tensor_table() {
  return kLlmTensors;
}

std::string_view tensor_base_name(LlmTensor tensor) {
  return kLlmTensors[static_cast<size_t>(tensor)].base;
}

std::string tensor_name(LlmTensor tensor, std::string_view suffix) {
  const std::string_view base = tensor_base_name(tensor);
  std::string out;
  out.reserve(base.size() + 1 + suffix.size());
  out += base;
  out += '.';
  out += suffix;
  return out;
}

std::string tensor_name(LlmTensor tensor, std::string_view suffix, int64_t block) {
  std::string out(kTensorBlockPrefix);
  out += std::to_string(block);
  out += '.';
  out += tensor_name(tensor, suffix);
  return out;
}

int64_t tensor_block(std::string_view name) {
  if (name.substr(0, kTensorBlockPrefix.size()) != kTensorBlockPrefix) return -1;
  size_t p = kTensorBlockPrefix.size();
  if (p >= name.size() || !std::isdigit(static_cast<unsigned char>(name[p]))) return -1;
  int64_t block = 0;
  while (p < name.size() && std::isdigit(static_cast<unsigned char>(name[p]))) {
    block = block * 10 + (name[p++] - '0');
  }
  return block;
}

}  // namespace quire::engine::gguf
