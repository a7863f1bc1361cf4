// The Embedder of BERT-family models: tokenize, pack texts into batches, encode, pool.
#include "engine/runtime/embedder.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "engine/arch/bert.h"
#include "engine/core/timer.h"
#include "engine/model/fingerprint.h"
#include "engine/runtime/bert_file.h"

namespace quire::engine {
namespace {

class BertEmbedder final : public Embedder {
 public:
  BertEmbedder(std::string path, std::unique_ptr<gguf::GgufFile> file,
               std::unique_ptr<BertModel> model, std::unique_ptr<Tokenizer> tokenizer,
               const EmbedderOptions& options)
      : path_(std::move(path)),
        file_(std::move(file)),
        model_(std::move(model)),
        tokenizer_(std::move(tokenizer)),
        options_(options),
        // One path for every batch size, so a text's vector does not depend on what it was
        // batched with; BLAS is the faster one for batches of chunks (bench_embed).
        matmul_path_(options.matmul_path == MatmulPath::kAuto ? MatmulPath::kBlas
                                                              : options.matmul_path),
        own_pool_(options.pool == nullptr ? std::make_unique<ThreadPool>(options.threads)
                                          : nullptr),
        pool_(options.pool != nullptr ? options.pool : own_pool_.get()) {}

  Result<std::vector<std::vector<float>>> embed(std::span<const std::string> texts,
                                                EmbedStats* stats) override {
    Timer timer;
    std::vector<std::vector<TokenId>> seqs(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      seqs[i] = tokenizer_->encode(texts[i], /*add_special=*/true, options_.parse_special);
    }
    auto out = embed_tokens(seqs, stats);
    if (out.ok() && stats != nullptr) stats->seconds = timer.elapsed_s();
    return out;
  }

  Result<std::vector<std::vector<float>>> embed_tokens(std::span<const std::vector<TokenId>> input,
                                                       EmbedStats* stats) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Timer timer;
    const int64_t max_tokens = this->max_tokens();
    const TokenId sep = tokenizer_->vocab().sep;
    EmbedStats local;
    // Sequences over max_tokens are cut in a copy; the caller's ids are used as they are
    // otherwise.
    std::vector<std::vector<TokenId>> truncated;
    std::span<const std::vector<TokenId>> seqs = input;
    const auto too_long = [&](const std::vector<TokenId>& seq) {
      return static_cast<int64_t>(seq.size()) > max_tokens;
    };
    if (std::any_of(input.begin(), input.end(), too_long)) {
      truncated.assign(input.begin(), input.end());
      for (std::vector<TokenId>& seq : truncated) {
        if (!too_long(seq)) continue;
        seq.resize(static_cast<size_t>(max_tokens));
        if (sep >= 0) seq.back() = sep;
        ++local.truncated;
      }
      seqs = truncated;
    }
    for (const std::vector<TokenId>& seq : seqs) local.tokens += static_cast<int64_t>(seq.size());
    std::vector<std::vector<float>> out(seqs.size());
    const int64_t dim = model_->hparams().n_embd;
    size_t begin = 0;
    while (begin < seqs.size()) {
      // Pack consecutive sequences up to the batch budget (at least one).
      size_t end = begin;
      int64_t tokens = 0;
      while (end < seqs.size() &&
             (end == begin ||
              tokens + static_cast<int64_t>(seqs[end].size()) <= options_.max_batch_tokens)) {
        tokens += static_cast<int64_t>(seqs[end].size());
        ++end;
      }
      std::span<const std::vector<TokenId>> batch(seqs.data() + begin, end - begin);
      QUIRE_RETURN_IF_ERROR(model_->forward(batch, hidden_, *pool_, scratch_, matmul_path_));
      std::vector<float> pooled = model_->pool_and_normalize(batch, hidden_);
      for (size_t i = begin; i < end; ++i) {
        const float* v = pooled.data() + (i - begin) * static_cast<size_t>(dim);
        out[i].assign(v, v + dim);
      }
      begin = end;
    }
    local.texts = static_cast<int64_t>(seqs.size());
    local.seconds = timer.elapsed_s();
    if (stats != nullptr) *stats = local;
    return out;
  }

  int64_t dim() const override { return model_->hparams().n_embd; }
  int64_t max_tokens() const override {
    const int64_t n_ctx = model_->hparams().n_ctx_train;
    return options_.max_tokens > 0 ? std::min(options_.max_tokens, n_ctx) : n_ctx;
  }
  std::string name() const override {
    return file_->get_string("general.name")
        .value_or(std::filesystem::path(path_).filename().string());
  }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  Result<std::string> fingerprint() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fingerprint_.empty()) {
      QUIRE_ASSIGN_OR_RETURN(fingerprint_, model_fingerprint(*file_, path_));
    }
    return fingerprint_;
  }

 private:
  std::string path_;
  std::unique_ptr<gguf::GgufFile> file_;
  std::unique_ptr<BertModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  EmbedderOptions options_;
  MatmulPath matmul_path_;
  std::unique_ptr<ThreadPool> own_pool_;  // null when options.pool is shared
  ThreadPool* pool_;                      // own_pool_ or options.pool
  std::mutex mutex_;
  BertScratch scratch_;
  std::vector<float> hidden_;
  std::string fingerprint_;
};

}  // namespace

Result<std::unique_ptr<Embedder>> open_embedder(const std::string& path,
                                                const EmbedderOptions& options) {
  QUIRE_ASSIGN_OR_RETURN(BertFile bert, open_bert_file(path, "an embedding model"));
  if (bert.model->hparams().pooling == PoolingType::kRank) {
    return failed_precondition_error("'" + path +
                                     "' is a reranker (pooling type rank: a cross-encoder that "
                                     "scores pairs), not an embedding model; give it as the "
                                     "rerank model (--rerank-model)");
  }
  if (options.max_batch_tokens < 1) return invalid_argument_error("max_batch_tokens must be >= 1");
  if (options.max_tokens < 0 || options.max_tokens == 1) {
    return invalid_argument_error("max_tokens must be 0 (the model's) or >= 2 ([CLS] and [SEP])");
  }
  return std::unique_ptr<Embedder>(new BertEmbedder(
      path, std::move(bert.file), std::move(bert.model), std::move(bert.tokenizer), options));
}

}  // namespace quire::engine
