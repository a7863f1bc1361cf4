// The GGUF key and tensor-name tables against llama.cpp's spellings (llama-arch.cpp): every
// entry is listed here, so a missing, misplaced or misspelled one fails.
#include "engine/gguf/gguf_names.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace quire::engine::gguf {
namespace {

TEST(GgufNamesTest, KeysWithoutArchPrefix) {
  const std::vector<std::pair<std::string_view, std::string_view>> expected = {
      {kKvGeneralArchitecture, "general.architecture"},
      {kKvGeneralName, "general.name"},
      {kKvGeneralDescription, "general.description"},
      {kKvGeneralAlignment, "general.alignment"},
      {kKvGeneralFileType, "general.file_type"},
      {kKvGeneralQuantizationVersion, "general.quantization_version"},
      {kKvTokenizerModel, "tokenizer.ggml.model"},
      {kKvTokenizerPre, "tokenizer.ggml.pre"},
      {kKvTokenizerList, "tokenizer.ggml.tokens"},
      {kKvTokenizerScores, "tokenizer.ggml.scores"},
      {kKvTokenizerTokenType, "tokenizer.ggml.token_type"},
      {kKvTokenizerMerges, "tokenizer.ggml.merges"},
      {kKvTokenizerBosId, "tokenizer.ggml.bos_token_id"},
      {kKvTokenizerEosId, "tokenizer.ggml.eos_token_id"},
      {kKvTokenizerUnkId, "tokenizer.ggml.unknown_token_id"},
      {kKvTokenizerSepId, "tokenizer.ggml.seperator_token_id"},
      {kKvTokenizerPadId, "tokenizer.ggml.padding_token_id"},
      {kKvTokenizerClsId, "tokenizer.ggml.cls_token_id"},
      {kKvTokenizerMaskId, "tokenizer.ggml.mask_token_id"},
      {kKvTokenizerEotId, "tokenizer.ggml.eot_token_id"},
      {kKvTokenizerAddBos, "tokenizer.ggml.add_bos_token"},
      {kKvTokenizerAddEos, "tokenizer.ggml.add_eos_token"},
      {kKvTokenizerAddPrefix, "tokenizer.ggml.add_space_prefix"},
      {kKvTokenizerChatTemplate, "tokenizer.chat_template"},
  };
  for (const auto& [constant, spelling] : expected) {
    EXPECT_EQ(constant, spelling);
    if (spelling.starts_with("tokenizer.")) {
      EXPECT_TRUE(constant.starts_with(kKvTokenizerPrefix)) << constant;
    }
  }
}

TEST(GgufNamesTest, EveryArchKeyHasItsLlamaCppSpelling) {
  const std::vector<std::pair<ArchKv, std::string_view>> expected = {
      {ArchKv::kVocabSize, "llama.vocab_size"},
      {ArchKv::kContextLength, "llama.context_length"},
      {ArchKv::kEmbeddingLength, "llama.embedding_length"},
      {ArchKv::kBlockCount, "llama.block_count"},
      {ArchKv::kFeedForwardLength, "llama.feed_forward_length"},
      {ArchKv::kPoolingType, "llama.pooling_type"},
      {ArchKv::kExpertCount, "llama.expert_count"},
      {ArchKv::kExpertUsedCount, "llama.expert_used_count"},
      {ArchKv::kAttentionHeadCount, "llama.attention.head_count"},
      {ArchKv::kAttentionHeadCountKv, "llama.attention.head_count_kv"},
      {ArchKv::kAttentionKeyLength, "llama.attention.key_length"},
      {ArchKv::kAttentionValueLength, "llama.attention.value_length"},
      {ArchKv::kAttentionLayerNormEps, "llama.attention.layer_norm_epsilon"},
      {ArchKv::kAttentionLayerNormRmsEps, "llama.attention.layer_norm_rms_epsilon"},
      {ArchKv::kAttentionCausal, "llama.attention.causal"},
      {ArchKv::kRopeDimensionCount, "llama.rope.dimension_count"},
      {ArchKv::kRopeFreqBase, "llama.rope.freq_base"},
      {ArchKv::kRopeScalingType, "llama.rope.scaling.type"},
  };
  ASSERT_EQ(arch_kv_table().size(), expected.size());
  ASSERT_EQ(static_cast<size_t>(kArchKvCount), expected.size());
  std::set<std::string_view> suffixes, llama_cpp_names;
  for (size_t i = 0; i < expected.size(); ++i) {
    const ArchKvName& entry = arch_kv_table()[i];
    EXPECT_EQ(entry.key, expected[i].first) << i;
    EXPECT_EQ(arch_kv("llama", expected[i].first), expected[i].second);
    EXPECT_TRUE(entry.llama_cpp.starts_with("LLM_KV_")) << entry.llama_cpp;
    EXPECT_TRUE(suffixes.insert(entry.suffix).second) << entry.suffix;
    EXPECT_TRUE(llama_cpp_names.insert(entry.llama_cpp).second) << entry.llama_cpp;
  }
  EXPECT_EQ(arch_kv("qwen2", ArchKv::kBlockCount), "qwen2.block_count");
  EXPECT_EQ(arch_kv_suffix(ArchKv::kAttentionHeadCountKv), "attention.head_count_kv");
}

TEST(GgufNamesTest, EveryTensorHasItsLlamaCppName) {
  // Per-block entries written with the block prefix, as llama.cpp's "blk.%d.attn_q".
  const std::vector<std::pair<LlmTensor, std::string_view>> expected = {
      {LlmTensor::kTokenEmbd, "token_embd"},
      {LlmTensor::kTokenEmbdNorm, "token_embd_norm"},
      {LlmTensor::kTokenTypes, "token_types"},
      {LlmTensor::kPosEmbd, "position_embd"},
      {LlmTensor::kOutputNorm, "output_norm"},
      {LlmTensor::kOutput, "output"},
      {LlmTensor::kRopeFreqs, "rope_freqs"},
      {LlmTensor::kAttnNorm, "blk.%d.attn_norm"},
      {LlmTensor::kAttnQ, "blk.%d.attn_q"},
      {LlmTensor::kAttnK, "blk.%d.attn_k"},
      {LlmTensor::kAttnV, "blk.%d.attn_v"},
      {LlmTensor::kAttnQkv, "blk.%d.attn_qkv"},
      {LlmTensor::kAttnOut, "blk.%d.attn_output"},
      {LlmTensor::kAttnQNorm, "blk.%d.attn_q_norm"},
      {LlmTensor::kAttnKNorm, "blk.%d.attn_k_norm"},
      {LlmTensor::kAttnOutNorm, "blk.%d.attn_output_norm"},
      {LlmTensor::kFfnNorm, "blk.%d.ffn_norm"},
      {LlmTensor::kFfnGateInp, "blk.%d.ffn_gate_inp"},
      {LlmTensor::kFfnGate, "blk.%d.ffn_gate"},
      {LlmTensor::kFfnUp, "blk.%d.ffn_up"},
      {LlmTensor::kFfnDown, "blk.%d.ffn_down"},
      {LlmTensor::kLayerOutNorm, "blk.%d.layer_output_norm"},
  };
  ASSERT_EQ(llm_tensor_table().size(), expected.size());
  ASSERT_EQ(static_cast<size_t>(kLlmTensorCount), expected.size());
  std::set<std::string_view> bases, llama_cpp_names;
  for (size_t i = 0; i < expected.size(); ++i) {
    const LlmTensorName& entry = llm_tensor_table()[i];
    const auto [tensor, pattern] = expected[i];
    EXPECT_EQ(entry.tensor, tensor) << i;
    const bool per_block = pattern.starts_with("blk.%d.");
    EXPECT_EQ(entry.per_block, per_block) << pattern;
    const std::string_view base = per_block ? pattern.substr(7) : pattern;
    EXPECT_EQ(tensor_base_name(tensor), base);
    EXPECT_EQ(tensor_name(tensor, "weight"), std::string(base) + ".weight");
    if (per_block) {
      EXPECT_EQ(tensor_name(tensor, "bias", 12), "blk.12." + std::string(base) + ".bias");
    }
    EXPECT_TRUE(entry.llama_cpp.starts_with("LLM_TENSOR_")) << entry.llama_cpp;
    EXPECT_TRUE(bases.insert(entry.base).second) << entry.base;
    EXPECT_TRUE(llama_cpp_names.insert(entry.llama_cpp).second) << entry.llama_cpp;
  }
}

TEST(GgufNamesTest, TensorBlockIsTheInverseOfTensorName) {
  EXPECT_EQ(tensor_block(tensor_name(LlmTensor::kAttnQ, "weight", 0)), 0);
  EXPECT_EQ(tensor_block(tensor_name(LlmTensor::kFfnDown, "weight", 37)), 37);
  EXPECT_EQ(tensor_block("token_embd.weight"), -1);
  EXPECT_EQ(tensor_block("blk."), -1);
  EXPECT_EQ(tensor_block("blk.x.attn_q.weight"), -1);
  EXPECT_EQ(tensor_block("blk"), -1);
}

}  // namespace
}  // namespace quire::engine::gguf
