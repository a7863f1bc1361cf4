// Random-weight decoders: the tiny shape of every arch reopened with the GGUF reader (keys,
// tensor names, types, shapes, value statistics), agreement with `quire quantize` (a file written
// as Q4_K_M equals an F32 file requantized, tensor by tensor and byte for byte), the per-tensor
// types of the Qwen2.5-0.5B and TinyLlama Q4_K_M shapes, determinism, and bad shapes.
#include "tests/support/model_gen.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "engine/core/thread_pool.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/model/quantize_model.h"
#include "tests/support/test_support.h"

namespace quire::test {
namespace {

using engine::GgmlType;
using engine::gguf::Array;
using engine::gguf::GgufFile;
using engine::gguf::GgufWriter;

constexpr int64_t kVocab = 300;

// A small SentencePiece-style vocabulary file, parsed from memory (kept alive by the caller).
struct VocabFile {
  std::vector<uint8_t> bytes;
  std::optional<GgufFile> file;
};

std::unique_ptr<VocabFile> make_vocab() {
  GgufWriter w;
  w.set("general.architecture", "llama");
  w.set("general.name", "should-not-be-copied");
  w.set("tokenizer.ggml.model", "llama");
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (int64_t i = 0; i < kVocab; ++i) {
    tokens.push_back(std::to_string(i) + "tok");
    scores.push_back(-static_cast<float>(i));
    types.push_back(i < 3 ? 3 : 1);
  }
  w.set("tokenizer.ggml.tokens", Array::of_strings(tokens));
  w.set("tokenizer.ggml.scores", Array::of(scores));
  w.set("tokenizer.ggml.token_type", Array::of(types));
  w.set("tokenizer.ggml.bos_token_id", uint32_t{1});
  w.set("tokenizer.ggml.eos_token_id", uint32_t{2});
  w.set("tokenizer.chat_template", "{{ messages }}");
  auto v = std::make_unique<VocabFile>();
  Result<std::vector<uint8_t>> bytes = w.to_bytes();
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  v->bytes = std::move(bytes).value();
  Result<GgufFile> file = GgufFile::parse(v->bytes, "vocab");
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  v->file.emplace(std::move(file).value());
  return v;
}

const GgufFile& vocab() {
  static const std::unique_ptr<VocabFile> v = make_vocab();
  return *v->file;
}

GgufFile open_file(const std::string& path) {
  Result<GgufFile> f = GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  if (!f.ok()) std::abort();
  return std::move(f).value();
}

std::vector<int64_t> shape_of(const engine::gguf::TensorInfo& t) {
  return std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims);
}

// Mean and standard deviation of an F32 tensor.
std::pair<double, double> moments(const engine::gguf::TensorInfo& t) {
  double sum = 0, sum2 = 0;
  for (uint64_t i = 0; i < t.n_elements; ++i) {
    float v;
    std::memcpy(&v, t.data + i * 4, 4);
    sum += v;
    sum2 += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(t.n_elements);
  const double mean = sum / n;
  return {mean, std::sqrt(std::max(0.0, sum2 / n - mean * mean))};
}

class TinyDecoderTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyDecoderTest, WritesWhatTheReaderExpects) {
  const std::string arch = GetParam();
  const DecoderShape shape = tiny_decoder_shape(arch);
  TempDir dir;
  const std::string path = dir.file("tiny.gguf");
  ASSERT_TRUE(write_random_decoder(path, shape, vocab(), 2).ok());
  const GgufFile f = open_file(path);

  EXPECT_EQ(f.architecture(), arch);
  EXPECT_EQ(f.get_string("general.name"), "random-tiny-" + arch);
  EXPECT_EQ(f.get_uint("general.file_type"), 0u);
  EXPECT_EQ(f.find("general.quantization_version"), nullptr);
  const std::string a = arch + ".";
  EXPECT_EQ(f.get_uint(a + "block_count"), 2u);
  EXPECT_EQ(f.get_uint(a + "context_length"), 512u);
  EXPECT_EQ(f.get_uint(a + "embedding_length"), 128u);
  EXPECT_EQ(f.get_uint(a + "feed_forward_length"), 256u);
  EXPECT_EQ(f.get_uint(a + "attention.head_count"), 4u);
  EXPECT_EQ(f.get_uint(a + "attention.head_count_kv"), 2u);
  EXPECT_EQ(f.get_uint(a + "vocab_size"), static_cast<uint64_t>(kVocab));
  const int64_t head_dim = arch == "qwen3" ? 64 : 32;
  EXPECT_EQ(f.get_uint(a + "rope.dimension_count"), static_cast<uint64_t>(head_dim));
  EXPECT_EQ(f.get_double(a + "rope.freq_base"), arch == "llama" ? 10000.0 : 1000000.0);
  EXPECT_FLOAT_EQ(
      static_cast<float>(f.get_double(a + "attention.layer_norm_rms_epsilon").value_or(0)),
      arch == "llama" ? 1e-5f : 1e-6f);
  ASSERT_NE(f.find(a + "rope.freq_base"), nullptr);
  EXPECT_EQ(f.find(a + "rope.freq_base")->type(), engine::gguf::ValueType::kFloat32);
  if (arch == "qwen3") {
    EXPECT_EQ(f.get_uint(a + "attention.key_length"), 64u);
    EXPECT_EQ(f.get_uint(a + "attention.value_length"), 64u);
  } else {
    EXPECT_EQ(f.find(a + "attention.key_length"), nullptr);
  }
  // Every tokenizer key copied, nothing else of the vocabulary file.
  for (const auto& kv : vocab().metadata()) {
    if (kv.key.rfind("tokenizer.", 0) != 0) continue;
    const engine::gguf::Value* v = f.find(kv.key);
    ASSERT_NE(v, nullptr) << kv.key;
    EXPECT_TRUE(*v == kv.value) << kv.key;
  }
  EXPECT_EQ(f.get_array("tokenizer.ggml.tokens")->size(), static_cast<size_t>(kVocab));

  // Tensors: the expected names, in order, with their shapes; all F32.
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"token_embd.weight", {128, kVocab}}};
  const int64_t q = 4 * head_dim, kv = 2 * head_dim;
  for (int i = 0; i < 2; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    expected.push_back({b + "attn_norm.weight", {128}});
    expected.push_back({b + "attn_q.weight", {128, q}});
    if (arch == "qwen2") expected.push_back({b + "attn_q.bias", {q}});
    expected.push_back({b + "attn_k.weight", {128, kv}});
    if (arch == "qwen2") expected.push_back({b + "attn_k.bias", {kv}});
    expected.push_back({b + "attn_v.weight", {128, kv}});
    if (arch == "qwen2") expected.push_back({b + "attn_v.bias", {kv}});
    expected.push_back({b + "attn_output.weight", {q, 128}});
    if (arch == "qwen3") {
      expected.push_back({b + "attn_q_norm.weight", {head_dim}});
      expected.push_back({b + "attn_k_norm.weight", {head_dim}});
    }
    expected.push_back({b + "ffn_norm.weight", {128}});
    expected.push_back({b + "ffn_gate.weight", {128, 256}});
    expected.push_back({b + "ffn_up.weight", {128, 256}});
    expected.push_back({b + "ffn_down.weight", {256, 128}});
  }
  expected.push_back({"output_norm.weight", {128}});
  if (arch == "llama") expected.push_back({"output.weight", {128, kVocab}});
  ASSERT_EQ(f.tensors().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& t = f.tensors()[i];
    EXPECT_EQ(t.name, expected[i].first);
    EXPECT_EQ(shape_of(t), expected[i].second) << t.name;
    EXPECT_EQ(t.type, GgmlType::F32) << t.name;
  }

  // decoder_tensors() describes the same file.
  Result<std::vector<DecoderTensor>> plan = decoder_tensors(shape, kVocab);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), f.tensors().size());
  for (size_t i = 0; i < plan->size(); ++i) {
    EXPECT_EQ((*plan)[i].name, f.tensors()[i].name);
    EXPECT_EQ((*plan)[i].ne, shape_of(f.tensors()[i]));
  }

  // Values: matrices N(0, 1/sqrt(n_in)), norms 1 + N(0, 0.1). With >= 16k samples the sample
  // std is within 2% of the true one and the mean within 4 standard errors.
  auto [m_mean, m_std] = moments(*f.find_tensor("blk.1.ffn_up.weight"));  // 32,768 values
  EXPECT_NEAR(m_std, 1.0 / std::sqrt(128.0), 0.02 / std::sqrt(128.0));
  EXPECT_NEAR(m_mean, 0.0, 4 * (1.0 / std::sqrt(128.0)) / std::sqrt(32768.0));
  auto [d_mean, d_std] = moments(*f.find_tensor("blk.0.ffn_down.weight"));
  EXPECT_NEAR(d_std, 1.0 / 16.0, 0.02 / 16.0);
  auto [e_mean, e_std] = moments(*f.find_tensor("token_embd.weight"));
  EXPECT_NEAR(e_std, 1.0 / std::sqrt(128.0), 0.02 / std::sqrt(128.0));
  auto [n_mean, n_std] = moments(*f.find_tensor("blk.0.attn_norm.weight"));  // 128 values
  EXPECT_NEAR(n_mean, 1.0, 0.04);
  EXPECT_NEAR(n_std, 0.1, 0.03);
  // Different tensors get different values.
  const auto* up0 = f.find_tensor("blk.0.ffn_up.weight");
  const auto* up1 = f.find_tensor("blk.1.ffn_up.weight");
  EXPECT_NE(std::memcmp(up0->data, up1->data, up0->n_bytes), 0);
}

INSTANTIATE_TEST_SUITE_P(Archs, TinyDecoderTest, ::testing::Values("llama", "qwen2", "qwen3"));

// Compares two files tensor by tensor (by name: quantize_model reorders them).
void expect_same_tensors(const GgufFile& a, const GgufFile& b) {
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const auto& ta : a.tensors()) {
    const auto* tb = b.find_tensor(ta.name);
    ASSERT_NE(tb, nullptr) << ta.name;
    EXPECT_EQ(ta.type, tb->type) << ta.name;
    EXPECT_EQ(shape_of(ta), shape_of(*tb)) << ta.name;
    ASSERT_EQ(ta.n_bytes, tb->n_bytes) << ta.name;
    EXPECT_EQ(std::memcmp(ta.data, tb->data, ta.n_bytes), 0) << ta.name << " bytes differ";
  }
}

// Writing directly in a scheme gives what `quire quantize` makes of the F32 file.
void check_against_quantize_model(const DecoderShape& f32_shape, const std::string& ftype) {
  TempDir dir;
  ASSERT_TRUE(write_random_decoder(dir.file("f32.gguf"), f32_shape, vocab(), 2).ok());
  DecoderShape direct_shape = f32_shape;
  direct_shape.ftype = ftype;
  ASSERT_TRUE(write_random_decoder(dir.file("direct.gguf"), direct_shape, vocab(), 2).ok());
  const GgufFile f32 = open_file(dir.file("f32.gguf"));
  ThreadPool pool(2);
  Result<engine::QuantizeReport> report = engine::quantize_model(
      f32, dir.file("requantized.gguf"), *engine::quant_scheme_from_name(ftype), pool);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  const GgufFile requantized = open_file(dir.file("requantized.gguf"));
  const GgufFile direct = open_file(dir.file("direct.gguf"));
  expect_same_tensors(direct, requantized);
  EXPECT_EQ(direct.get_uint("general.file_type"), requantized.get_uint("general.file_type"));
  EXPECT_EQ(direct.get_uint("general.quantization_version"), 2u);
  EXPECT_EQ(requantized.get_uint("general.quantization_version"), 2u);
  // Both actually quantized something.
  std::set<GgmlType> types;
  for (const auto& t : direct.tensors()) types.insert(t.type);
  EXPECT_GT(types.size(), 1u);
}

TEST(DecoderQuantTest, TinyShapesMatchQuireQuantize) {
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    SCOPED_TRACE(arch);
    check_against_quantize_model(tiny_decoder_shape(arch), "Q4_K_M");
  }
  check_against_quantize_model(tiny_decoder_shape("llama"), "Q8_0");
  check_against_quantize_model(tiny_decoder_shape("qwen2"), "F16");
}

TEST(DecoderQuantTest, QwenLikeShapeMatchesQuireQuantize) {
  // Qwen2.5-0.5B's layer count, heads and divisibility (rows of n_embd not a multiple of 256,
  // rows of n_ff a multiple), small widths: 224 = 14 heads x 16, FFN 256.
  DecoderShape s = qwen25_05b_shape("F32");
  s.n_embd = 224;
  s.n_ff = 256;
  s.n_ctx = 256;
  check_against_quantize_model(s, "Q4_K_M");
}

int64_t layer_of(const std::string& name) {
  return name.rfind("blk.", 0) == 0 ? std::stoll(name.substr(4)) : -1;
}
std::string role_of(const std::string& name) {
  return name.rfind("blk.", 0) == 0 ? name.substr(name.find('.', 4) + 1) : name;
}

TEST(DecoderQuantTest, Qwen25HalfBillionQ4KMTypes) {
  Result<std::vector<DecoderTensor>> plan = decoder_tensors(qwen25_05b_shape("Q4_K_M"), 151936);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->size(), 290u);  // token_embd, 24 x 12, output_norm
  // use_more_bits(i, 24): i < 3, i >= 21, (i - 3) % 3 == 2.
  const std::set<int64_t> more_bits = {0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23};
  std::map<std::string, int> seen;
  for (const auto& t : *plan) {
    const int64_t i = layer_of(t.name);
    const std::string role = role_of(t.name);
    GgmlType want = GgmlType::F32;
    if (role == "token_embd.weight") {
      want = GgmlType::Q8_0;  // tied output, 896 not a multiple of 256
      EXPECT_EQ(t.ne, (std::vector<int64_t>{896, 151936}));
    } else if (role == "attn_v.weight") {
      want = more_bits.count(i) ? GgmlType::Q8_0 : GgmlType::Q5_0;  // Q6_K / Q4_K fall back
      EXPECT_EQ(t.ne, (std::vector<int64_t>{896, 128}));
    } else if (role == "ffn_down.weight") {
      want = more_bits.count(i) ? GgmlType::Q6_K : GgmlType::Q4_K;  // 4864 = 19 x 256
      EXPECT_EQ(t.ne, (std::vector<int64_t>{4864, 896}));
    } else if (role == "attn_q.weight" || role == "attn_k.weight" || role == "attn_output.weight" ||
               role == "ffn_gate.weight" || role == "ffn_up.weight") {
      want = GgmlType::Q5_0;
    }
    EXPECT_EQ(t.type, want) << t.name;
    ++seen[role];
  }
  EXPECT_EQ(seen.count("output.weight"), 0u);
  for (const char* role : {"attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_norm.weight",
                           "ffn_norm.weight", "ffn_gate.weight"}) {
    EXPECT_EQ(seen[role], 24) << role;
  }
}

TEST(DecoderQuantTest, TinyLlamaQ4KMTypes) {
  Result<std::vector<DecoderTensor>> plan = decoder_tensors(tinyllama_shape("Q4_K_M"), 32000);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->size(), 201u);  // token_embd, 22 x 9, output_norm, output
  // use_more_bits(i, 22): i < 2, i >= 19, (i - 2) % 3 == 2.
  const std::set<int64_t> more_bits = {0, 1, 4, 7, 10, 13, 16, 19, 20, 21};
  uint64_t bytes = 0;
  for (const auto& t : *plan) {
    const int64_t i = layer_of(t.name);
    const std::string role = role_of(t.name);
    GgmlType want = GgmlType::Q4_K;
    if (role == "output.weight") {
      want = GgmlType::Q6_K;
    } else if (role == "attn_v.weight" || role == "ffn_down.weight") {
      want = more_bits.count(i) ? GgmlType::Q6_K : GgmlType::Q4_K;
    } else if (t.ne.size() == 1) {
      want = GgmlType::F32;
    }
    EXPECT_EQ(t.type, want) << t.name;
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    bytes += engine::ggml_row_size(t.type, static_cast<uint64_t>(t.ne[0])) *
             static_cast<uint64_t>(n / t.ne[0]);
  }
  // llama.cpp's TinyLlama Q4_K_M tensor data is about 636 MiB (667.8 MB file).
  EXPECT_NEAR(static_cast<double>(bytes) / (1 << 20), 636.0, 10.0);
}

TEST(DecoderGenTest, SameArgumentsSameFileWhateverTheThreads) {
  TempDir dir;
  DecoderShape s = tiny_decoder_shape("qwen2");
  s.ftype = "Q4_K_M";
  ASSERT_TRUE(write_random_decoder(dir.file("a.gguf"), s, vocab(), 1).ok());
  ASSERT_TRUE(write_random_decoder(dir.file("b.gguf"), s, vocab(), 2).ok());
  EXPECT_EQ(read_file(dir.file("a.gguf")), read_file(dir.file("b.gguf")));
  s.seed = 2;
  ASSERT_TRUE(write_random_decoder(dir.file("c.gguf"), s, vocab(), 2).ok());
  const GgufFile a = open_file(dir.file("a.gguf"));
  const GgufFile c = open_file(dir.file("c.gguf"));
  const auto* ta = a.find_tensor("blk.0.attn_q.weight");
  const auto* tc = c.find_tensor("blk.0.attn_q.weight");
  ASSERT_EQ(ta->n_bytes, tc->n_bytes);
  EXPECT_NE(std::memcmp(ta->data, tc->data, ta->n_bytes), 0);
}

TEST(DecoderGenTest, BadShapesAreRejected) {
  TempDir dir;
  auto write = [&](DecoderShape s) {
    return write_random_decoder(dir.file("bad.gguf"), s, vocab(), 1);
  };
  DecoderShape s = tiny_decoder_shape("llama");
  s.arch = "gpt2";
  Status st = write(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("gpt2"), std::string::npos) << st.message();

  s = tiny_decoder_shape("llama");
  s.ftype = "Q4_K_L";
  st = write(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("Q4_K_M"), std::string::npos) << st.message();

  s = tiny_decoder_shape("llama");
  s.n_head_kv = 3;
  EXPECT_EQ(write(s).code(), StatusCode::kInvalidArgument);
  s = tiny_decoder_shape("llama");
  s.n_head = 3;
  s.n_head_kv = 1;  // 128 / 3
  EXPECT_EQ(write(s).code(), StatusCode::kInvalidArgument);
  s = tiny_decoder_shape("llama");
  s.n_layer = 0;
  st = write(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("n_layer"), std::string::npos) << st.message();
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.gguf")));  // nothing written

  GgufWriter w;
  w.set("general.architecture", "llama");
  Result<std::vector<uint8_t>> bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  Result<GgufFile> no_tokens = GgufFile::parse(*bytes, "empty");
  ASSERT_TRUE(no_tokens.ok());
  st = write_random_decoder(dir.file("bad.gguf"), tiny_decoder_shape("llama"), *no_tokens, 1);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("tokenizer.ggml.tokens"), std::string::npos) << st.message();
}

TEST(DecoderGenTest, RealVocabularies) {
  QUIRE_REQUIRE_SHARED();
  TempDir dir;
  const GgufFile spm = open_file(shared_dir() + "/conformance/vocab/ggml-vocab-llama-spm.gguf");
  ASSERT_TRUE(write_random_decoder(dir.file("l.gguf"), tiny_decoder_shape("llama"), spm, 2).ok());
  const GgufFile l = open_file(dir.file("l.gguf"));
  EXPECT_EQ(l.get_uint("llama.vocab_size"), 32000u);
  EXPECT_EQ(shape_of(*l.find_tensor("output.weight")), (std::vector<int64_t>{128, 32000}));
  EXPECT_EQ(l.get_string("tokenizer.ggml.model"), "llama");
}

}  // namespace
}  // namespace quire::test
