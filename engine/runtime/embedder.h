// Sentence embeddings: text in, L2-normalized vectors out.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/core/thread_pool.h"
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
  int threads = 0;  // 0: all CPUs; the size of the embedder's own pool (unused with `pool`)
  // A shared pool to run the forward passes on instead of starting one of `threads` workers.
  // Not owned; must outlive the embedder. Its parallel_for calls are serialized by the pool, so
  // the embedder and the pool's other users (a generator) take turns.
  ThreadPool* pool = nullptr;
  int64_t max_batch_tokens = 4096;  // tokens per forward pass (texts are packed up to this)
  // kAuto: kBlas for every batch (f32 activations), so results do not depend on batching;
  // kQuantized reproduces llama.cpp's activation rounding.
  MatmulPath matmul_path = MatmulPath::kAuto;
  bool parse_special = false;  // recognize "[SEP]"-like text as special tokens
  int64_t max_tokens = 0;      // truncate texts here (0: the model's context length)
};

// Thread-safety: embed, embed_tokens and fingerprint may be called from several threads at
// once; the forward passes (and the fingerprint) are serialized internally, one call at a time,
// while embed's tokenization runs outside that lock. dim, max_tokens, name and tokenizer are
// const and safe from any thread.
class Embedder {
 public:
  virtual ~Embedder() = default;

  // One vector of dim() floats per text, L2-normalized. A text longer than max_tokens() is
  // truncated (its first max_tokens() - 1 tokens and the closing [SEP]) and counted in stats.
  // Empty texts are valid (the embedding of [CLS][SEP]). The same as embed_tokens() of each
  // text's tokenizer().encode(text, add_special=true, options.parse_special), which it calls;
  // stats->seconds includes the tokenization.
  virtual Result<std::vector<std::vector<float>>> embed(std::span<const std::string> texts,
                                                        EmbedStats* stats = nullptr) = 0;

  // One vector per token sequence, as embed() gives for the texts they encode: each sequence is
  // ids as tokenizer().encode(text, add_special=true, ...) returns them (special tokens
  // included), and is truncated the same way (its first max_tokens() - 1 ids and [SEP]).
  // Sequences are packed into batches exactly as embed() packs texts, so the vectors are
  // bit-identical. `seqs` is not modified (long ones are cut in a copy). Sequences must be
  // non-empty with ids in [0, tokenizer().vocab().size()) (kInvalidArgument otherwise).
  virtual Result<std::vector<std::vector<float>>> embed_tokens(
      std::span<const std::vector<TokenId>> seqs, EmbedStats* stats = nullptr) = 0;

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
