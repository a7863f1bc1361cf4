#include "engine/quant/ggml_type.h"

#include <set>

#include <gtest/gtest.h>

namespace quire::engine {
namespace {

TEST(GgmlTypeTest, TableMatchesLlamaCppGeometry) {
  struct Expected {
    GgmlType type;
    uint32_t id, block, bytes;
  };
  // ids and block layouts from FORMATS.md (llama.cpp's ggml.h / ggml-common.h).
  const Expected expected[] = {
      {GgmlType::F32, 0, 1, 4},       {GgmlType::F16, 1, 1, 2},
      {GgmlType::BF16, 30, 1, 2},     {GgmlType::Q4_0, 2, 32, 18},
      {GgmlType::Q4_1, 3, 32, 20},    {GgmlType::Q5_0, 6, 32, 22},
      {GgmlType::Q5_1, 7, 32, 24},    {GgmlType::Q8_0, 8, 32, 34},
      {GgmlType::Q8_1, 9, 32, 36},    {GgmlType::Q2_K, 10, 256, 84},
      {GgmlType::Q3_K, 11, 256, 110}, {GgmlType::Q4_K, 12, 256, 144},
      {GgmlType::Q5_K, 13, 256, 176}, {GgmlType::Q6_K, 14, 256, 210},
      {GgmlType::Q8_K, 15, 256, 292},
  };
  for (const auto& e : expected) {
    auto info = ggml_type_info(e.id);
    ASSERT_TRUE(info.has_value()) << e.id;
    EXPECT_EQ(info->type, e.type);
    EXPECT_EQ(info->block_size, e.block) << info->name;
    EXPECT_EQ(info->type_size, e.bytes) << info->name;
  }
}

TEST(GgmlTypeTest, EveryEntryIsUniqueAndRoundTripsByName) {
  std::set<uint32_t> ids;
  std::set<std::string_view> names;
  for (const auto& info : ggml_type_table()) {
    EXPECT_TRUE(ids.insert(static_cast<uint32_t>(info.type)).second) << info.name;
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_EQ(ggml_type_from_name(info.name), info.type);
    EXPECT_EQ(&ggml_type_info(info.type), &ggml_type_info(info.type));
    EXPECT_GT(info.block_size, 0u);
    EXPECT_GT(info.type_size, 0u);
    EXPECT_EQ(info.quantized, info.block_size > 1) << info.name;
  }
  EXPECT_EQ(ggml_type_from_name("q4_k"), GgmlType::Q4_K);
  EXPECT_EQ(ggml_type_from_name("Q4_K_M"), std::nullopt);  // a file type, not a tensor type
}

TEST(GgmlTypeTest, RetiredAndUnknownIdsAreRejected) {
  for (uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 1000u, 0xFFFFFFFFu}) {
    EXPECT_FALSE(ggml_type_info(id).has_value()) << id;
  }
}

TEST(GgmlTypeTest, RowSizes) {
  EXPECT_EQ(ggml_row_size(GgmlType::F32, 4096), 16384u);
  EXPECT_EQ(ggml_row_size(GgmlType::Q4_0, 4096), 4096u / 32 * 18);
  EXPECT_EQ(ggml_row_size(GgmlType::Q4_K, 4096), 16u * 144);
}

TEST(GgmlTypeTest, FileTypeNames) {
  EXPECT_EQ(file_type_name(0), "F32");
  EXPECT_EQ(file_type_name(1), "F16");
  EXPECT_EQ(file_type_name(2), "Q4_0");
  EXPECT_EQ(file_type_name(7), "Q8_0");
  EXPECT_EQ(file_type_name(15), "Q4_K_M");
  EXPECT_EQ(file_type_name(17), "Q5_K_M");
  EXPECT_EQ(file_type_name(18), "Q6_K");
  EXPECT_EQ(file_type_name(32), "BF16");
  EXPECT_EQ(file_type_name(5), std::nullopt);
  EXPECT_EQ(file_type_name(99), std::nullopt);
}

}  // namespace
}  // namespace quire::engine
