// Sentence embeddings: text in, L2-normalized vectors out.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/kernels/matmul.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

struct EmbedStats {
  int64_t texts = 0;
  int64_t tokens = 0;     // after truncation, special tokens included
  int64_t truncated = 0;  // texts cut to max_tokens()
  double seconds = 0;
};

struct EmbedderOptions {
  int threads = 0;                  // 0: all CPUs
  int64_t max_batch_tokens = 4096;  // tokens per forward pass (texts are packed up to this)
  // kAuto: kBlas for every batch (f32 activations), so results do not depend on batching;
  // kQuantized reproduces llama.cpp's activation rounding.
  MatmulPath matmul_path = MatmulPath::kAuto;
  bool parse_special = false;  // recognize "[SEP]"-like text as special tokens
  int64_t max_tokens = 0;      // truncate texts here (0: the model's context length)
};

class Embedder {
 public:
  virtual ~Embedder() = default;

  // One vector of dim() floats per text, L2-normalized. A text longer than max_tokens() is
  // truncated (its first max_tokens() - 1 tokens and the closing [SEP]) and counted in stats.
  // Empty texts are valid (the embedding of [CLS][SEP]). Calls are serialized internally.
  virtual Result<std::vector<std::vector<float>>> embed(std::span<const std::string> texts,
                                                        EmbedStats* stats = nullptr) = 0;

  virtual int64_t dim() const = 0;
  virtual int64_t max_tokens() const = 0;  // tokens per text, special tokens included
  virtual std::string name() const = 0;    // general.name, or the file name
  virtual const Tokenizer& tokenizer() const = 0;
  // sha256 of the tensor data, computed once and cached on disk (runtime/fingerprint.h).
  virtual Result<std::string> fingerprint() = 0;
};

// Opens a GGUF embedding model (architectures in the encoder registry: "bert").
Result<std::unique_ptr<Embedder>> open_embedder(const std::string& path,
                                                const EmbedderOptions& options = {});

}  // namespace quire::engine
