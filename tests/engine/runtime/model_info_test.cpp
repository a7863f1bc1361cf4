#include "engine/runtime/model_info.h"

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_writer.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

using gguf::Array;
using gguf::GgufFile;
using gguf::GgufWriter;

// A tiny llama-shaped file: n_embd 64, 2 layers, 4 heads, 2 KV heads, FFN 128, vocab 100.
// With `experts` > 0, the FFN is a mixture of `experts` experts, 2 used per token.
std::vector<uint8_t> tiny_llama(uint32_t experts = 0) {
  GgufWriter w;
  w.set("general.architecture", "llama");
  w.set("general.name", "tiny");
  w.set("general.file_type", uint32_t{0});
  w.set("llama.context_length", uint32_t{256});
  w.set("llama.embedding_length", uint32_t{64});
  w.set("llama.block_count", uint32_t{2});
  w.set("llama.feed_forward_length", uint32_t{128});
  w.set("llama.attention.head_count", uint32_t{4});
  w.set("llama.attention.head_count_kv", uint32_t{2});
  if (experts > 0) {
    w.set("llama.expert_count", experts);
    w.set("llama.expert_used_count", uint32_t{2});
  }
  std::vector<std::string> tokens;
  for (int i = 0; i < 100; ++i) tokens.push_back(std::to_string(i) + "t");
  w.set("tokenizer.ggml.model", "llama");
  w.set("tokenizer.ggml.tokens", Array::of_strings(tokens));
  w.set("tokenizer.chat_template", "{{ messages }}");
  auto add = [&](const std::string& name, std::vector<int64_t> ne) {
    uint64_t n = 1;
    for (auto d : ne) n *= static_cast<uint64_t>(d);
    EXPECT_TRUE(w.add_tensor(name, GgmlType::F32, ne, std::vector<uint8_t>(n * 4)).ok()) << name;
  };
  add("token_embd.weight", {64, 100});
  for (int l = 0; l < 2; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_q.weight", {64, 64});
    add(p + "attn_k.weight", {64, 32});
    add(p + "attn_v.weight", {64, 32});
    add(p + "attn_output.weight", {64, 64});
    if (experts > 0) {
      add(p + "ffn_gate_exps.weight", {64, 128, experts});
      add(p + "ffn_up_exps.weight", {64, 128, experts});
      add(p + "ffn_down_exps.weight", {128, 64, experts});
    } else {
      add(p + "ffn_gate.weight", {64, 128});
      add(p + "ffn_up.weight", {64, 128});
      add(p + "ffn_down.weight", {128, 64});
    }
  }
  auto bytes = w.to_bytes();
  EXPECT_TRUE(bytes.ok());
  return *bytes;
}

TEST(ModelInfoTest, DenseModelFacts) {
  auto bytes = tiny_llama();
  auto file = GgufFile::parse(bytes, "tiny");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto info = describe_model(*file);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->architecture, "llama");
  EXPECT_EQ(info->file_type_name, "F32");
  const uint64_t per_layer = 64 * 64 * 2 + 64 * 32 * 2 + 64 * 128 * 3;
  EXPECT_EQ(info->parameters, 64u * 100 + 2 * per_layer);
  EXPECT_EQ(info->parameters_active, info->parameters);
  EXPECT_EQ(info->weights_bytes, info->parameters * 4);
  EXPECT_EQ(info->head_count_kv, 2u);
  EXPECT_EQ(info->key_length, 16u);
  EXPECT_EQ(info->vocab_size, 100u);
  EXPECT_EQ(info->tokenizer_kind, "SentencePiece");
  EXPECT_TRUE(info->has_chat_template);
  EXPECT_TRUE(info->causal);
  ASSERT_EQ(info->tensor_types.size(), 1u);
  EXPECT_EQ(info->tensor_types[0].count, 15u);
}

TEST(ModelInfoTest, MixtureOfExpertsActiveParameters) {
  auto bytes = tiny_llama(8);
  auto file = GgufFile::parse(bytes, "moe");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto info = describe_model(*file);
  ASSERT_TRUE(info.ok());
  const uint64_t attn = 64 * 64 * 2 + 64 * 32 * 2;
  const uint64_t expert = 64 * 128 * 3;  // one expert's FFN
  EXPECT_EQ(info->parameters, 64u * 100 + 2 * (attn + 8 * expert));
  EXPECT_EQ(info->parameters_active, 64u * 100 + 2 * (attn + 2 * expert));
  EXPECT_EQ(info->expert_count, 8u);
  EXPECT_EQ(info->expert_used_count, 2u);
}

TEST(ModelInfoTest, KvCacheMath) {
  auto bytes = tiny_llama();
  auto file = GgufFile::parse(bytes, "tiny");
  ASSERT_TRUE(file.ok());
  auto info = describe_model(*file);
  ASSERT_TRUE(info.ok());
  // K and V: 2 layers x n_ctx x (2 KV heads x 16) values each.
  auto f16 = estimate_memory(*info, 0, KvType::kF16);
  ASSERT_TRUE(f16.ok());
  EXPECT_EQ(f16->n_ctx, 256u);  // the model's context length
  EXPECT_EQ(f16->kv_cache_bytes, 2u * 2 * 256 * 32 * 2);
  auto q8 = estimate_memory(*info, 1000, KvType::kQ8_0);
  ASSERT_TRUE(q8.ok());
  EXPECT_EQ(q8->n_ctx, 1000u);
  EXPECT_EQ(q8->kv_cache_bytes, 2u * 2 * 1000 * 34);  // one Q8_0 block per 32-value row
  auto f32 = estimate_memory(*info, 1000, KvType::kF32);
  ASSERT_TRUE(f32.ok());
  EXPECT_EQ(f32->kv_cache_bytes, 2u * 2 * 1000 * 32 * 4);
  EXPECT_GT(f16->scratch_bytes, 0u);
  EXPECT_EQ(f16->total_bytes, f16->weights_bytes + f16->kv_cache_bytes + f16->scratch_bytes);
}

TEST(ModelInfoTest, EncodersKeepNoKvCache) {
  QUIRE_REQUIRE_SHARED();
  auto file = GgufFile::open(test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto info = describe_model(*file);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->causal);
  EXPECT_EQ(info->tokenizer_kind, "WordPiece");
  EXPECT_EQ(info->pooling_type, 1u);
  auto m = estimate_memory(*info, 0, KvType::kF16);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->n_ctx, 512u);
  EXPECT_EQ(m->kv_cache_bytes, 0u);
}

TEST(ModelInfoTest, ConformanceLlamaKvCache) {
  QUIRE_REQUIRE_SHARED();
  auto file = GgufFile::open(test::shared_dir() + "/conformance/models/llama-tiny-q4_k_m.gguf");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto info = describe_model(*file);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->file_type_name, "Q4_K_M");
  // 4 layers, 2048 positions, 4 KV heads x 32 dims, K and V, 2 bytes each = 8 MiB.
  auto m = estimate_memory(*info, 0, KvType::kF16);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kv_cache_bytes, 4ull * 2048 * 128 * 2 * 2);
}

TEST(ModelInfoTest, VocabularyOnlyFileHasNoMemoryEstimate) {
  GgufWriter w;
  w.set("general.architecture", "llama");
  w.set("tokenizer.ggml.model", "gpt2");
  w.set("tokenizer.ggml.tokens", Array::of_strings({"a", "b"}));
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto file = GgufFile::parse(*bytes, "vocab");
  ASSERT_TRUE(file.ok());
  auto info = describe_model(*file);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->parameters, 0u);
  EXPECT_EQ(info->vocab_size, 2u);
  auto m = estimate_memory(*info, 0, KvType::kF16);
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
}

TEST(ModelInfoTest, ZeroHeadCountIsCorrupt) {
  GgufWriter w;
  w.set("general.architecture", "llama");
  w.set("llama.attention.head_count", uint32_t{0});
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto file = GgufFile::parse(*bytes, "zero-heads");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(describe_model(*file).status().code(), StatusCode::kDataLoss);
}

TEST(ModelInfoTest, EncoderArchitecturesOfTheRegistryDefaultToBidirectional) {
  // Encoders quire does not run are still described as encoders; the file's key wins.
  for (const auto& [arch, causal_key, causal] :
       std::vector<std::tuple<std::string, std::optional<bool>, bool>>{
           {"bert", std::nullopt, false},
           {"nomic-bert", std::nullopt, false},
           {"jina-bert-v2", std::nullopt, false},
           {"t5encoder", std::nullopt, false},
           {"llama", std::nullopt, true},
           {"gpt-neox", std::nullopt, true},
           {"nomic-bert", true, true},
           {"llama", false, false}}) {
    GgufWriter w;
    w.set("general.architecture", arch);
    if (causal_key) w.set(arch + ".attention.causal", *causal_key);
    auto bytes = w.to_bytes();
    ASSERT_TRUE(bytes.ok());
    auto file = GgufFile::parse(*bytes, arch);
    ASSERT_TRUE(file.ok());
    auto info = describe_model(*file);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->causal, causal) << arch;
  }
}

TEST(ModelInfoTest, KvTypeNames) {
  EXPECT_EQ(parse_kv_type("f16").value(), KvType::kF16);
  EXPECT_EQ(parse_kv_type("q8_0").value(), KvType::kQ8_0);
  EXPECT_EQ(parse_kv_type("f32").value(), KvType::kF32);
  EXPECT_EQ(parse_kv_type("q4_0").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kv_type_name(KvType::kQ8_0), "q8_0");
  // Every KV type: its name parses back, and its element type is the ggml one.
  const std::pair<KvType, GgmlType> all[] = {{KvType::kF32, GgmlType::F32},
                                             {KvType::kF16, GgmlType::F16},
                                             {KvType::kQ8_0, GgmlType::Q8_0}};
  for (const auto& [type, ggml] : all) {
    EXPECT_EQ(parse_kv_type(kv_type_name(type)).value(), type);
    EXPECT_EQ(kv_ggml_type(type), ggml);
  }
}

}  // namespace
}  // namespace quire::engine
