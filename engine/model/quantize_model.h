// Requantizing a GGUF model (`quire quantize`): the per-tensor type mixtures users know from
// llama.cpp's names (Q4_K_M, ...), and the conversion itself.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/core/thread_pool.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/quant/ggml_type.h"

namespace quire::engine {

// A target such as "Q4_K_M": its llama_ftype id and default tensor type.
struct QuantScheme {
  std::string_view name;
  uint32_t file_type;  // general.file_type (llama_ftype)
  GgmlType base;
};

// F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_M, Q4_K_S, Q4_K_M, Q5_K_M, Q6_K.
std::span<const QuantScheme> quant_schemes();
std::optional<QuantScheme> quant_scheme_from_name(std::string_view name);  // case-insensitive

// What the chooser needs to know about the model.
struct QuantModelFacts {
  std::string architecture;
  int64_t n_layer = 0;     // block_count
  int64_t n_gqa = 1;       // head_count / head_count_kv
  bool has_output = true;  // false when output.weight is tied to token_embd.weight
};

// Whether a tensor is quantized at all: 2-D+ weights ending in ".weight", except norms,
// position embeddings, token types and MoE routers, which keep their type.
bool should_quantize(std::string_view name, int n_dims);

// The type for one tensor under a scheme, following llama.cpp's mixtures: output (or tied
// token_embd) in Q6_K unless the scheme is Q8_0; Q4_K_M/Q5_K_M give attn_v and ffn_down Q6_K in
// layers i with i < n/8, i >= 7n/8 or (i - n/8) % 3 == 2; Q4_K_S, Q3_K_M, Q2_K have their own
// rules; a row length that is not a multiple of 256 falls back (Q4_K -> Q5_0, Q5_K -> Q5_1,
// Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0; the output tensor -> Q8_0).
GgmlType choose_tensor_type(const QuantScheme& scheme, const QuantModelFacts& facts,
                            std::string_view name, int64_t ne0);

struct QuantizedTensorReport {
  std::string name;
  std::string shape;
  GgmlType from;
  GgmlType to;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

struct QuantizeReport {
  std::vector<QuantizedTensorReport> tensors;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double seconds = 0;
};

// Reads `in`, writes `out` (through a temporary file and a rename) with every tensor converted
// per choose_tensor_type, all metadata copied, general.file_type set and
// general.quantization_version = 2. `progress` (may be empty) is called after each converted
// tensor is written. Tensors that keep their type are copied byte for byte.
Result<QuantizeReport> quantize_model(
    const gguf::GgufFile& in, const std::string& out_path, const QuantScheme& scheme,
    ThreadPool& pool, const std::function<void(const QuantizedTensorReport&)>& progress = {});

}  // namespace quire::engine
