// The GGUF metadata keys and tensor names quire reads and writes, spelled once, as llama.cpp
// writes them (llama-arch.cpp: LLM_KV_NAMES and LLM_TENSOR_NAMES). Each entry carries the name
// of llama.cpp's enum value, so `grep LLM_KV_ATTENTION_HEAD_COUNT` finds both sides.
//
// Three kinds of names:
//   - keys without an architecture prefix ("general.*", "tokenizer.*"): constants;
//   - keys under "{arch}." (general.architecture's value): the ArchKv table, arch_kv();
//   - tensor names, global ("token_embd.weight") or per block ("blk.3.attn_q.weight"): the
//     LlmTensor table, tensor_name().
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace quire::engine::gguf {

// ---------------------------------------------------------------------------------------------
// Keys without an architecture prefix.

inline constexpr std::string_view kKvGeneralArchitecture = "general.architecture";
inline constexpr std::string_view kKvGeneralName = "general.name";
inline constexpr std::string_view kKvGeneralDescription = "general.description";
inline constexpr std::string_view kKvGeneralAlignment = "general.alignment";
inline constexpr std::string_view kKvGeneralFileType = "general.file_type";
inline constexpr std::string_view kKvGeneralQuantizationVersion = "general.quantization_version";

// Every tokenizer key starts with this (a vocabulary is copied between files by this prefix).
inline constexpr std::string_view kKvTokenizerPrefix = "tokenizer.";
inline constexpr std::string_view kKvTokenizerModel = "tokenizer.ggml.model";
inline constexpr std::string_view kKvTokenizerPre = "tokenizer.ggml.pre";
inline constexpr std::string_view kKvTokenizerList = "tokenizer.ggml.tokens";
inline constexpr std::string_view kKvTokenizerScores = "tokenizer.ggml.scores";
inline constexpr std::string_view kKvTokenizerTokenType = "tokenizer.ggml.token_type";
inline constexpr std::string_view kKvTokenizerMerges = "tokenizer.ggml.merges";
inline constexpr std::string_view kKvTokenizerBosId = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view kKvTokenizerEosId = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view kKvTokenizerUnkId = "tokenizer.ggml.unknown_token_id";
// The misspelling is GGUF's.
inline constexpr std::string_view kKvTokenizerSepId = "tokenizer.ggml.seperator_token_id";
inline constexpr std::string_view kKvTokenizerPadId = "tokenizer.ggml.padding_token_id";
inline constexpr std::string_view kKvTokenizerClsId = "tokenizer.ggml.cls_token_id";
inline constexpr std::string_view kKvTokenizerMaskId = "tokenizer.ggml.mask_token_id";
inline constexpr std::string_view kKvTokenizerEotId = "tokenizer.ggml.eot_token_id";
inline constexpr std::string_view kKvTokenizerAddBos = "tokenizer.ggml.add_bos_token";
inline constexpr std::string_view kKvTokenizerAddEos = "tokenizer.ggml.add_eos_token";
inline constexpr std::string_view kKvTokenizerAddPrefix = "tokenizer.ggml.add_space_prefix";
inline constexpr std::string_view kKvTokenizerChatTemplate = "tokenizer.chat_template";

// ---------------------------------------------------------------------------------------------
// Keys under "{arch}.".

enum class ArchKv {
  kVocabSize,
  kContextLength,
  kEmbeddingLength,
  kBlockCount,
  kFeedForwardLength,
  kPoolingType,  // 0 none, 1 mean, 2 cls, 3 last
  kExpertCount,
  kExpertUsedCount,
  kAttentionHeadCount,
  kAttentionHeadCountKv,
  kAttentionKeyLength,
  kAttentionValueLength,
  kAttentionLayerNormEps,
  kAttentionLayerNormRmsEps,
  kAttentionCausal,
  kRopeDimensionCount,
  kRopeFreqBase,
  kRopeScalingType,
};
inline constexpr int kArchKvCount = static_cast<int>(ArchKv::kRopeScalingType) + 1;

struct ArchKvName {
  ArchKv key;
  std::string_view llama_cpp;  // "LLM_KV_CONTEXT_LENGTH"
  std::string_view suffix;     // "context_length": the key after "{arch}."
};

// One entry per ArchKv, in enum order.
std::span<const ArchKvName> arch_kv_table();
std::string_view arch_kv_suffix(ArchKv key);  // "attention.head_count"
// The full key: arch_kv("llama", ArchKv::kBlockCount) == "llama.block_count".
std::string arch_kv(std::string_view arch, ArchKv key);

// ---------------------------------------------------------------------------------------------
// Tensor names.

enum class LlmTensor {
  // Global tensors.
  kTokenEmbd,
  kTokenEmbdNorm,
  kTokenTypes,
  kPosEmbd,
  kOutputNorm,
  kOutput,  // absent: tied to token_embd
  kRopeFreqs,
  // Per-block tensors ("blk.N.").
  kAttnNorm,
  kAttnQ,
  kAttnK,
  kAttnV,
  kAttnQkv,
  kAttnOut,
  kAttnQNorm,
  kAttnKNorm,
  kAttnOutNorm,
  kFfnNorm,
  kFfnGateInp,
  kFfnGate,
  kFfnUp,
  kFfnDown,
  kLayerOutNorm,
};
inline constexpr int kLlmTensorCount = static_cast<int>(LlmTensor::kLayerOutNorm) + 1;

struct LlmTensorName {
  LlmTensor tensor;
  std::string_view llama_cpp;  // "LLM_TENSOR_ATTN_Q"
  std::string_view base;       // "attn_q"
  bool per_block;              // named "blk.N.<base>"
};

// One entry per LlmTensor, in enum order.
std::span<const LlmTensorName> llm_tensor_table();
std::string_view tensor_base_name(LlmTensor tensor);  // "attn_q"

inline constexpr std::string_view kTensorBlockPrefix = "blk.";

// "<base>.<suffix>": a global tensor's name ("output_norm.weight"), or a per-block tensor's
// name inside its block ("attn_v.weight"). Suffixes are "weight" and "bias".
std::string tensor_name(LlmTensor tensor, std::string_view suffix);
// "blk.<block>.<base>.<suffix>": tensor_name(LlmTensor::kAttnQ, "weight", 3) ==
// "blk.3.attn_q.weight".
std::string tensor_name(LlmTensor tensor, std::string_view suffix, int64_t block);
// N of a name "blk.N.*", or -1 for a name outside the blocks.
int64_t tensor_block(std::string_view name);

}  // namespace quire::engine::gguf
