// `quire quantize`: the per-tensor type mixtures (against llama.cpp's own files where the
// conformance kit has them) and the written file.
#include "engine/model/quantize_model.h"

#include <cmath>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_writer.h"
#include "engine/quant/quant_traits.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

using gguf::GgufFile;

QuantScheme scheme(std::string_view name) {
  auto s = quant_scheme_from_name(name);
  EXPECT_TRUE(s.has_value()) << name;
  return s.value_or(QuantScheme{});
}

TEST(QuantSchemeTest, NamesAndFileTypes) {
  const std::map<std::string, uint32_t> expected = {
      {"F16", 1},   {"Q4_0", 2},    {"Q4_1", 3},    {"Q8_0", 7},    {"Q5_0", 8},    {"Q5_1", 9},
      {"Q2_K", 10}, {"Q3_K_M", 12}, {"Q4_K_S", 14}, {"Q4_K_M", 15}, {"Q5_K_M", 17}, {"Q6_K", 18}};
  EXPECT_EQ(quant_schemes().size(), expected.size());
  for (const auto& [name, id] : expected) EXPECT_EQ(scheme(name).file_type, id) << name;
  EXPECT_EQ(quant_scheme_from_name("q4_k_m")->base, GgmlType::Q4_K);
  EXPECT_FALSE(quant_scheme_from_name("Q4_K_L").has_value());
}

TEST(QuantSchemeTest, WhatIsQuantized) {
  EXPECT_TRUE(should_quantize("blk.0.attn_q.weight", 2));
  EXPECT_TRUE(should_quantize("token_embd.weight", 2));
  EXPECT_FALSE(should_quantize("blk.0.attn_norm.weight", 1));
  EXPECT_FALSE(should_quantize("blk.0.attn_q.bias", 1));
  EXPECT_FALSE(should_quantize("position_embd.weight", 2));
  EXPECT_FALSE(should_quantize("token_types.weight", 2));
  EXPECT_FALSE(should_quantize("blk.0.ffn_gate_inp.weight", 2));
  EXPECT_FALSE(should_quantize("blk.0.attn_output_norm.weight", 2));
}

TEST(QuantSchemeTest, Q4KMMixtureFor32Layers) {
  QuantModelFacts facts{"llama", 32, 4, true};
  const QuantScheme q4km = scheme("Q4_K_M");
  // use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2.
  for (int64_t i = 0; i < 32; ++i) {
    const bool more = i < 4 || i >= 28 || (i - 4) % 3 == 2;
    const GgmlType want = more ? GgmlType::Q6_K : GgmlType::Q4_K;
    const std::string p = "blk." + std::to_string(i) + ".";
    EXPECT_EQ(choose_tensor_type(q4km, facts, p + "attn_v.weight", 4096), want) << i;
    EXPECT_EQ(choose_tensor_type(q4km, facts, p + "ffn_down.weight", 11008), want) << i;
    EXPECT_EQ(choose_tensor_type(q4km, facts, p + "attn_q.weight", 4096), GgmlType::Q4_K);
    EXPECT_EQ(choose_tensor_type(q4km, facts, p + "ffn_up.weight", 4096), GgmlType::Q4_K);
  }
  EXPECT_EQ(choose_tensor_type(q4km, facts, "output.weight", 4096), GgmlType::Q6_K);
  EXPECT_EQ(choose_tensor_type(q4km, facts, "token_embd.weight", 4096), GgmlType::Q4_K);
  QuantModelFacts tied = facts;
  tied.has_output = false;
  EXPECT_EQ(choose_tensor_type(q4km, tied, "token_embd.weight", 4096), GgmlType::Q6_K);
}

TEST(QuantSchemeTest, RowsNotMultipleOf256FallBack) {
  // Every 896-wide matrix of a Qwen2.5-0.5B (24 layers).
  QuantModelFacts facts{"qwen2", 24, 7, false};
  const QuantScheme q4km = scheme("Q4_K_M");
  EXPECT_EQ(choose_tensor_type(q4km, facts, "blk.5.attn_q.weight", 896), GgmlType::Q5_0);
  EXPECT_EQ(choose_tensor_type(q4km, facts, "blk.0.attn_v.weight", 896), GgmlType::Q8_0);
  EXPECT_EQ(choose_tensor_type(q4km, facts, "blk.5.ffn_up.weight", 896), GgmlType::Q5_0);
  // ffn_down reads n_ff = 4864 = 19 x 256 inputs: K-quants apply there.
  EXPECT_EQ(choose_tensor_type(q4km, facts, "blk.0.ffn_down.weight", 4864), GgmlType::Q6_K);
  EXPECT_EQ(choose_tensor_type(q4km, facts, "blk.4.ffn_down.weight", 4864), GgmlType::Q4_K);
  EXPECT_EQ(choose_tensor_type(q4km, facts, "token_embd.weight", 896), GgmlType::Q8_0);
  EXPECT_EQ(choose_tensor_type(scheme("Q5_K_M"), facts, "blk.1.attn_q.weight", 896),
            GgmlType::Q5_1);
  EXPECT_EQ(choose_tensor_type(scheme("Q3_K_M"), facts, "blk.9.attn_q.weight", 896),
            GgmlType::Q4_0);
  EXPECT_EQ(choose_tensor_type(scheme("Q2_K"), facts, "blk.9.attn_q.weight", 896), GgmlType::Q4_0);
  EXPECT_EQ(choose_tensor_type(scheme("Q6_K"), facts, "blk.9.attn_q.weight", 896), GgmlType::Q8_0);
}

TEST(QuantSchemeTest, OtherSchemes) {
  QuantModelFacts facts{"llama", 16, 4, true};
  EXPECT_EQ(choose_tensor_type(scheme("Q4_K_S"), facts, "blk.3.attn_v.weight", 4096),
            GgmlType::Q5_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q4_K_S"), facts, "blk.4.attn_v.weight", 4096),
            GgmlType::Q4_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q4_K_S"), facts, "blk.1.ffn_down.weight", 4096),
            GgmlType::Q5_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q4_K_S"), facts, "blk.2.ffn_down.weight", 4096),
            GgmlType::Q4_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q3_K_M"), facts, "blk.1.attn_v.weight", 4096),
            GgmlType::Q5_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q3_K_M"), facts, "blk.2.attn_v.weight", 4096),
            GgmlType::Q4_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q3_K_M"), facts, "blk.0.ffn_down.weight", 4096),
            GgmlType::Q5_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q3_K_M"), facts, "blk.1.ffn_down.weight", 4096),
            GgmlType::Q4_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q3_K_M"), facts, "blk.1.attn_output.weight", 4096),
            GgmlType::Q4_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q3_K_M"), facts, "blk.1.ffn_up.weight", 4096),
            GgmlType::Q3_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q2_K"), facts, "blk.1.attn_v.weight", 4096), GgmlType::Q4_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q2_K"), facts, "blk.1.ffn_down.weight", 4096),
            GgmlType::Q3_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q2_K"), facts, "blk.1.ffn_up.weight", 4096), GgmlType::Q2_K);
  EXPECT_EQ(choose_tensor_type(scheme("Q8_0"), facts, "output.weight", 4096), GgmlType::Q8_0);
  EXPECT_EQ(choose_tensor_type(scheme("Q4_0"), facts, "output.weight", 4096), GgmlType::Q6_K);
  EXPECT_EQ(choose_tensor_type(scheme("F16"), facts, "output.weight", 4096), GgmlType::F16);
}

// Quantizing the f32 conformance model gives exactly the tensor types llama-quantize chose.
struct MixtureCase {
  const char* source;
  const char* reference;
  const char* scheme;
};

class ConformanceMixtureTest : public testing::TestWithParam<MixtureCase> {};

TEST_P(ConformanceMixtureTest, MatchesLlamaQuantize) {
  QUIRE_REQUIRE_SHARED();
  const MixtureCase c = GetParam();
  const std::string models = test::shared_dir() + "/conformance/models/";
  auto in = GgufFile::open(models + c.source);
  ASSERT_TRUE(in.ok()) << in.status().to_string();
  auto ref = GgufFile::open(models + c.reference);
  ASSERT_TRUE(ref.ok()) << ref.status().to_string();
  test::TempDir dir;
  ThreadPool pool(2);
  auto report = quantize_model(*in, dir.file("out.gguf"), scheme(c.scheme), pool);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  auto out = GgufFile::open(dir.file("out.gguf"));
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  ASSERT_EQ(out->tensors().size(), ref->tensors().size());
  for (size_t i = 0; i < ref->tensors().size(); ++i) {
    const auto& want = ref->tensors()[i];
    const auto* got = out->find_tensor(want.name);
    ASSERT_NE(got, nullptr) << want.name;
    EXPECT_EQ(ggml_type_name(got->type), ggml_type_name(want.type)) << want.name;
    EXPECT_EQ(got->n_bytes, want.n_bytes) << want.name;
    EXPECT_EQ(got->ne, want.ne) << want.name;
  }
  EXPECT_EQ(out->get_uint("general.file_type"), ref->get_uint("general.file_type"));
  EXPECT_EQ(out->get_uint("general.quantization_version"), 2u);
  // Every other key is copied unchanged.
  for (const auto& kv : in->metadata()) {
    if (kv.key == "general.file_type") continue;
    const gguf::Value* v = out->find(kv.key);
    ASSERT_NE(v, nullptr) << kv.key;
    EXPECT_TRUE(*v == kv.value) << kv.key;
  }
  uint64_t bytes = 0;
  for (const auto& t : out->tensors()) bytes += t.n_bytes;
  EXPECT_EQ(report->bytes_out, bytes);

  // The header (metadata and tensor table) is byte-identical to llama-quantize's, and so is the
  // data of every tensor whose quantizer is deterministic round-to-nearest (F16, Q4_0..Q8_0).
  ASSERT_EQ(out->file_size(), ref->file_size());
  ASSERT_EQ(out->data_offset(), ref->data_offset());
  EXPECT_EQ(std::memcmp(out->bytes().data(), ref->bytes().data(), out->data_offset()), 0);
  bool all_exact = true;
  for (const auto& want : ref->tensors()) {
    const auto* got = out->find_tensor(want.name);
    const bool exact = want.type == GgmlType::F32 || want.type == GgmlType::F16 ||
                       want.type == GgmlType::Q4_0 || want.type == GgmlType::Q8_0;
    all_exact = all_exact && exact;
    if (exact) {
      EXPECT_EQ(std::memcmp(got->data, want.data, want.n_bytes), 0) << want.name;
    }
  }
  // Q8_0 and F16 conversions reproduce llama-quantize's files byte for byte.
  if (all_exact) {
    EXPECT_EQ(std::memcmp(out->bytes().data(), ref->bytes().data(), ref->file_size()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, ConformanceMixtureTest,
    testing::Values(MixtureCase{"llama-tiny-f32.gguf", "llama-tiny-q4_k_m.gguf", "Q4_K_M"},
                    MixtureCase{"llama-tiny-f32.gguf", "llama-tiny-q4_0.gguf", "Q4_0"},
                    MixtureCase{"llama-tiny-f32.gguf", "llama-tiny-q6_k.gguf", "Q6_K"},
                    MixtureCase{"llama-tiny-f32.gguf", "llama-tiny-q8_0.gguf", "Q8_0"},
                    MixtureCase{"qwen2-tiny-f32.gguf", "qwen2-tiny-q4_k_m.gguf", "Q4_K_M"},
                    MixtureCase{"qwen2-tiny-f32.gguf", "qwen2-tiny-q8_0.gguf", "Q8_0"},
                    MixtureCase{"bert-tiny-f32.gguf", "bert-tiny-q8_0.gguf", "Q8_0"},
                    MixtureCase{"bert-tiny-f32.gguf", "bert-tiny-f16.gguf", "F16"}),
    [](const testing::TestParamInfo<MixtureCase>& info) {
      std::string name = std::string(info.param.reference);
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

// The expected type of every tensor of llama-tiny (4 layers) in Q4_K_M, written out.
TEST(ConformanceMixtureList, LlamaTinyQ4KM) {
  QUIRE_REQUIRE_SHARED();
  auto in = GgufFile::open(test::shared_dir() + "/conformance/models/llama-tiny-f32.gguf");
  ASSERT_TRUE(in.ok());
  test::TempDir dir;
  ThreadPool pool(2);
  ASSERT_TRUE(quantize_model(*in, dir.file("q.gguf"), scheme("Q4_K_M"), pool).ok());
  auto out = GgufFile::open(dir.file("q.gguf"));
  ASSERT_TRUE(out.ok());
  std::map<std::string, std::string> expected = {
      {"token_embd.weight", "Q4_K"}, {"output_norm.weight", "F32"}, {"output.weight", "Q6_K"}};
  for (int i = 0; i < 4; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const char* more = i >= 2 ? "Q6_K" : "Q4_K";  // use_more_bits(i, 4): i = 2, 3
    for (const char* n : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"}) {
      expected[p + n + ".weight"] = "Q4_K";
    }
    expected[p + "attn_v.weight"] = more;
    expected[p + "ffn_down.weight"] = more;
    expected[p + "attn_norm.weight"] = "F32";
    expected[p + "ffn_norm.weight"] = "F32";
  }
  ASSERT_EQ(out->tensors().size(), expected.size());
  for (const auto& t : out->tensors()) {
    ASSERT_TRUE(expected.count(t.name)) << t.name;
    EXPECT_EQ(ggml_type_name(t.type), expected[t.name]) << t.name;
  }
}

TEST(QuantizeModelTest, QuantizedWeightsDecodeCloseToSource) {
  QUIRE_REQUIRE_SHARED();
  auto in = GgufFile::open(test::shared_dir() + "/conformance/models/qwen2-tiny-f32.gguf");
  ASSERT_TRUE(in.ok());
  test::TempDir dir;
  ThreadPool pool(2);
  ASSERT_TRUE(quantize_model(*in, dir.file("q8.gguf"), scheme("Q8_0"), pool).ok());
  auto out = GgufFile::open(dir.file("q8.gguf"));
  ASSERT_TRUE(out.ok());
  const auto* src = in->find_tensor("blk.0.ffn_up.weight");
  const auto* q = out->find_tensor("blk.0.ffn_up.weight");
  ASSERT_TRUE(src && q);
  std::vector<float> row(static_cast<size_t>(src->ne[0]));
  dequantizer(q->type)(q->data, row.data(), src->ne[0]);
  const float* f = reinterpret_cast<const float*>(src->data);
  double err = 0, norm = 0;
  for (int64_t i = 0; i < src->ne[0]; ++i) {
    err += (row[i] - f[i]) * (row[i] - f[i]);
    norm += f[i] * f[i];
  }
  EXPECT_LT(std::sqrt(err / norm), 0.01);  // Q8_0: ~0.4% relative RMSE on Gaussian weights
}

}  // namespace
}  // namespace quire::engine
