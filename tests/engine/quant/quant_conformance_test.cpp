// Every weight type through the traits table against llama.cpp's reference data
// (conformance/quant/quant-ref.gguf): dequantization bit-exact, quantization error within 5% of
// llama.cpp's, and the legacy/float quantizers byte-identical.
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_reader.h"
#include "engine/kernels/kernels.h"
#include "engine/quant/quant_traits.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

// The types of the issue, each with a traits entry and kernels in every set.
TEST(QuantTraitsTest, TableCoversEveryWeightTypeAndEveryKernelSet) {
  const GgmlType expected[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                               GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                               GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                               GgmlType::Q6_K};
  EXPECT_EQ(quant_traits_table().size(), std::size(expected));
  std::vector<const KernelSet*> sets = {&generic_kernels(), &kernels()};
  if (avx2_kernels() != nullptr) sets.push_back(avx2_kernels());
  for (GgmlType type : expected) {
    const QuantTraits* t = quant_traits(type);
    ASSERT_NE(t, nullptr) << ggml_type_name(type);
    EXPECT_NE(t->dequantize, nullptr);
    EXPECT_NE(t->quantize, nullptr);
    EXPECT_NE(t->quantize_activation, nullptr);
    EXPECT_NE(t->vec_dot, nullptr);
    EXPECT_EQ(dequantizer(type), t->dequantize);
    // The activation type's block must tile the weight type's block.
    EXPECT_EQ(ggml_type_info(type).block_size % ggml_type_info(t->vec_dot_type).block_size, 0u);
    for (const KernelSet* set : sets) {
      const TypeKernels* k = set->find(type);
      ASSERT_NE(k, nullptr) << set->name() << " " << ggml_type_name(type);
      EXPECT_EQ(k->vec_dot_type, t->vec_dot_type);
      EXPECT_NE(k->vec_dot, nullptr);
      EXPECT_NE(k->quantize_activation, nullptr);
      EXPECT_NE(k->dequantize, nullptr);
    }
  }
  EXPECT_EQ(quant_traits(GgmlType::IQ2_XXS), nullptr);
  EXPECT_EQ(quant_traits(GgmlType::Q8_K), nullptr);  // activation-only
  EXPECT_NE(dequantizer(GgmlType::Q8_K), nullptr);
  EXPECT_NE(dequantizer(GgmlType::Q8_1), nullptr);
  EXPECT_EQ(generic_kernels().name(), "generic");
}

class QuantReferenceTest : public testing::Test {
 protected:
  void SetUp() override {
    QUIRE_REQUIRE_SHARED();
    const std::string dir = test::shared_dir() + "/conformance/quant/";
    auto file = gguf::GgufFile::open(dir + "quant-ref.gguf");
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    file_.emplace(std::move(file).value());
    std::ifstream f(dir + "quant-ref-stats.json");
    stats_ = nlohmann::json::parse(f);
    src_ = file_->find_tensor("src");
    ASSERT_NE(src_, nullptr);
    ASSERT_EQ(src_->ne[0], 1024);
    ASSERT_EQ(src_->ne[1], 8);
  }
  const float* src() const { return reinterpret_cast<const float*>(src_->data); }

  std::optional<gguf::GgufFile> file_;
  nlohmann::json stats_;
  const gguf::TensorInfo* src_ = nullptr;
};

TEST_F(QuantReferenceTest, DequantizationIsBitExactForEveryType) {
  int checked = 0;
  for (const QuantTraits& t : quant_traits_table()) {
    if (t.type == GgmlType::F32) continue;
    const std::string name = lower(ggml_type_name(t.type));
    const gguf::TensorInfo* q = file_->find_tensor("q." + name);
    const gguf::TensorInfo* deq = file_->find_tensor("deq." + name);
    ASSERT_NE(q, nullptr) << name;
    ASSERT_NE(deq, nullptr) << name;
    ASSERT_EQ(q->type, t.type) << name;
    const size_t row = ggml_row_size(t.type, 1024);
    std::vector<float> out(1024);
    for (int r = 0; r < 8; ++r) {
      t.dequantize(q->data + r * row, out.data(), 1024);
      EXPECT_EQ(std::memcmp(out.data(), deq->data + r * 4096, 4096), 0)
          << name << " row " << r << " differs from llama.cpp's dequantization";
    }
    ++checked;
  }
  EXPECT_EQ(checked, 12);
}

TEST_F(QuantReferenceTest, QuantizerErrorWithinFivePercentOfLlamaCpp) {
  for (const QuantTraits& t : quant_traits_table()) {
    if (t.type == GgmlType::F32) continue;
    const std::string name = lower(ggml_type_name(t.type));
    double llama_rmse = -1;
    for (const auto& r : stats_["results"]) {
      if (lower(r["type"].get<std::string>()) == name) llama_rmse = r["rmse"].get<double>();
    }
    ASSERT_GT(llama_rmse, 0) << name;
    const size_t row = ggml_row_size(t.type, 1024);
    std::vector<uint8_t> q(row * 8);
    std::vector<float> back(1024);
    double sq = 0;
    for (int r = 0; r < 8; ++r) {
      t.quantize(src() + r * 1024, q.data() + r * row, 1024);
      t.dequantize(q.data() + r * row, back.data(), 1024);
      for (int i = 0; i < 1024; ++i) {
        const double e = static_cast<double>(back[i]) - src()[r * 1024 + i];
        sq += e * e;
      }
    }
    const double rmse = std::sqrt(sq / 8192);
    EXPECT_LE(rmse, 1.05 * llama_rmse) << name;
    std::printf("  %-5s rmse %.6g  llama.cpp %.6g  ratio %.4f\n", name.c_str(), rmse, llama_rmse,
                rmse / llama_rmse);
  }
}

TEST_F(QuantReferenceTest, RoundToNearestQuantizersAreByteIdentical) {
  const std::set<GgmlType> exact = {GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                                    GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0};
  for (GgmlType type : exact) {
    const QuantTraits* t = quant_traits(type);
    const std::string name = lower(ggml_type_name(type));
    const gguf::TensorInfo* ref = file_->find_tensor("q." + name);
    ASSERT_NE(ref, nullptr);
    std::vector<uint8_t> q(ref->n_bytes);
    const size_t row = ggml_row_size(type, 1024);
    for (int r = 0; r < 8; ++r) t->quantize(src() + r * 1024, q.data() + r * row, 1024);
    EXPECT_EQ(std::memcmp(q.data(), ref->data, ref->n_bytes), 0) << name;
  }
}

}  // namespace
}  // namespace quire::engine
