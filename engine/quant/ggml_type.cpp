#include "engine/quant/ggml_type.h"

#include <array>
#include <cctype>
#include <cstdlib>
#include <string>

namespace quire::engine {
namespace {

// Block geometry as in ggml's type traits; K-quant blocks hold 256 weights (QK_K).
constexpr std::array<GgmlTypeInfo, 32> kTypes = {{
    {GgmlType::F32, "F32", 1, 4, false},
    {GgmlType::F16, "F16", 1, 2, false},
    {GgmlType::Q4_0, "Q4_0", 32, 18, true},
    {GgmlType::Q4_1, "Q4_1", 32, 20, true},
    {GgmlType::Q5_0, "Q5_0", 32, 22, true},
    {GgmlType::Q5_1, "Q5_1", 32, 24, true},
    {GgmlType::Q8_0, "Q8_0", 32, 34, true},
    {GgmlType::Q8_1, "Q8_1", 32, 36, true},
    {GgmlType::Q2_K, "Q2_K", 256, 84, true},
    {GgmlType::Q3_K, "Q3_K", 256, 110, true},
    {GgmlType::Q4_K, "Q4_K", 256, 144, true},
    {GgmlType::Q5_K, "Q5_K", 256, 176, true},
    {GgmlType::Q6_K, "Q6_K", 256, 210, true},
    {GgmlType::Q8_K, "Q8_K", 256, 292, true},
    {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66, true},
    {GgmlType::IQ2_XS, "IQ2_XS", 256, 74, true},
    {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98, true},
    {GgmlType::IQ1_S, "IQ1_S", 256, 50, true},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18, true},
    {GgmlType::IQ3_S, "IQ3_S", 256, 110, true},
    {GgmlType::IQ2_S, "IQ2_S", 256, 82, true},
    {GgmlType::IQ4_XS, "IQ4_XS", 256, 136, true},
    {GgmlType::I8, "I8", 1, 1, false},
    {GgmlType::I16, "I16", 1, 2, false},
    {GgmlType::I32, "I32", 1, 4, false},
    {GgmlType::I64, "I64", 1, 8, false},
    {GgmlType::F64, "F64", 1, 8, false},
    {GgmlType::IQ1_M, "IQ1_M", 256, 56, true},
    {GgmlType::BF16, "BF16", 1, 2, false},
    {GgmlType::TQ1_0, "TQ1_0", 256, 54, true},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66, true},
    {GgmlType::MXFP4, "MXFP4", 32, 17, true},
}};

struct FileTypeName {
  uint32_t id;
  std::string_view name;
};

// llama_ftype values (llama.h); gaps are retired ids.
constexpr std::array<FileTypeName, 33> kFileTypes = {{
    {0, "F32"},     {1, "F16"},      {2, "Q4_0"},     {3, "Q4_1"},    {4, "Q4_1_SOME_F16"},
    {7, "Q8_0"},    {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},   {11, "Q3_K_S"},
    {12, "Q3_K_M"}, {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"}, {16, "Q5_K_S"},
    {17, "Q5_K_M"}, {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"},
    {22, "IQ3_XS"}, {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"}, {26, "IQ3_S"},
    {27, "IQ3_M"},  {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},
    {32, "BF16"},   {36, "TQ1_0"},   {37, "TQ2_0"},
}};

}  // namespace

std::span<const GgmlTypeInfo> ggml_type_table() {
  return kTypes;
}

std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id) {
  for (const auto& info : kTypes) {
    if (static_cast<uint32_t>(info.type) == id) return info;
  }
  return std::nullopt;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
  for (const auto& info : kTypes) {
    if (info.type == type) return info;
  }
  std::abort();  // every enumerator has a table entry (tested)
}

std::string_view ggml_type_name(GgmlType type) {
  return ggml_type_info(type).name;
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  std::string upper;
  for (char c : name)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (const auto& info : kTypes) {
    if (info.name == upper) return info.type;
  }
  return std::nullopt;
}

std::optional<std::string_view> file_type_name(uint32_t file_type) {
  for (const auto& entry : kFileTypes) {
    if (entry.id == file_type) return entry.name;
  }
  return std::nullopt;
}

}  // namespace quire::engine
