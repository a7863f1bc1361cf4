// What a GGUF model is and what it costs to load: the facts behind `quire models inspect` and
// the memory lines of /v1/status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/model/kv_cache.h"
#include "engine/quant/ggml_type.h"

namespace quire::engine {

struct TensorTypeStats {
  GgmlType type;
  uint64_t count = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

// Hyper-parameters keep the GGUF key names (without the "{arch}." prefix).
struct ModelInfo {
  std::string architecture;
  std::string name;
  std::optional<uint32_t> file_type;  // general.file_type (llama_ftype)
  std::string file_type_name;         // "Q4_K_M", or "" when unknown/absent

  uint64_t parameters = 0;         // elements of all tensors
  uint64_t parameters_active = 0;  // per token: only expert_used_count of expert_count experts
  uint64_t weights_bytes = 0;      // bytes of all tensor data
  std::vector<TensorTypeStats> tensor_types;  // by bytes, largest first

  std::optional<uint64_t> context_length;
  std::optional<uint64_t> embedding_length;
  std::optional<uint64_t> block_count;
  std::optional<uint64_t> feed_forward_length;  // the largest, when given per layer
  std::optional<uint64_t> head_count;           // the largest, when given per layer
  std::optional<uint64_t> head_count_kv;        // defaults to head_count
  std::optional<uint64_t> key_length;           // head dimension of K (default n_embd / n_head)
  std::optional<uint64_t> value_length;         // head dimension of V
  std::optional<uint64_t> expert_count;
  std::optional<uint64_t> expert_used_count;
  std::optional<uint64_t> vocab_size;
  std::optional<uint64_t> pooling_type;
  bool causal = true;  // false for encoders (BERT family): no KV cache is kept

  std::string tokenizer_model;  // tokenizer.ggml.model: "llama", "gpt2", "bert", ...
  std::string tokenizer_kind;   // "SentencePiece", "BPE (byte-level)", "WordPiece", ...
  std::string tokenizer_pre;    // tokenizer.ggml.pre
  bool has_chat_template = false;
};

// Reads the facts from a parsed file. Missing hyper-parameters stay nullopt (a vocabulary-only
// file has none); the function fails only on contradictory values (e.g. a zero head count).
Result<ModelInfo> describe_model(const gguf::GgufFile& file);

// Memory needed to run the model at n_ctx tokens of context.
//   weights: the tensor bytes (mapped, not copied);
//   kv_cache: 2 (K and V) x block_count x n_ctx x head_count_kv x head dim, in the KV type
//             (0 for encoders, which keep no cache between calls);
//   scratch: an estimate of f32 activations for one batch of min(n_ctx, 512) tokens: 8 hidden
//            vectors and 3 FFN vectors per token, the attention scores of all heads against n_ctx
//            keys (the batch itself for encoders), and one row of logits for decoders.
struct MemoryEstimate {
  uint64_t n_ctx = 0;
  KvType kv_type = KvType::kF16;
  uint64_t weights_bytes = 0;
  uint64_t kv_cache_bytes = 0;
  uint64_t scratch_bytes = 0;
  uint64_t total_bytes = 0;
};

// n_ctx == 0 means the model's context_length. Fails with kFailedPrecondition when the file has
// no architecture hyper-parameters to compute with (e.g. a vocabulary-only file).
Result<MemoryEstimate> estimate_memory(const ModelInfo& info, uint64_t n_ctx, KvType kv_type);

}  // namespace quire::engine
