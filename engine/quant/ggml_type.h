// ggml tensor types: ids, names and block geometry exactly as llama.cpp defines them.
//
// The GGUF reader needs the block size and bytes per block of every type to compute tensor
// sizes, including types quire cannot compute with (IQ*, TQ*), so `models inspect` can describe
// any file. Whether a type can be used in kernels is a separate question (engine/kernels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace quire::engine {

// Values are the ggml type ids stored in GGUF files. Gaps are ids ggml retired.
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;  // GGUF / llama.cpp spelling, e.g. "Q4_K"
  uint32_t block_size;    // weights per block
  uint32_t type_size;     // bytes per block
  bool quantized;
};

// Every known type, in id order.
std::span<const GgmlTypeInfo> ggml_type_table();

// The entry for a raw id from a file, or nullopt for an unknown or retired id.
std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id);

// The entry for a known type (aborts on an id not in the table: a bug).
const GgmlTypeInfo& ggml_type_info(GgmlType type);

std::string_view ggml_type_name(GgmlType type);

// Parses a name such as "Q4_K" or "f16" (case-insensitive).
std::optional<GgmlType> ggml_type_from_name(std::string_view name);

// Bytes of a row of n weights; n must be a multiple of the block size.
inline uint64_t ggml_row_size(GgmlType type, uint64_t n) {
  const auto& info = ggml_type_info(type);
  return n / info.block_size * info.type_size;
}

// llama.cpp's `general.file_type` (llama_ftype) names, e.g. 15 -> "Q4_K_M"; nullopt if unknown.
std::optional<std::string_view> file_type_name(uint32_t file_type);

}  // namespace quire::engine
