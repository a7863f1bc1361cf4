// The Reranker of BERT-family cross-encoders: pair layout, packing into batches, the head.
#include "engine/runtime/reranker.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "engine/arch/bert.h"
#include "engine/core/timer.h"
#include "engine/runtime/bert_file.h"

namespace quire::engine {
namespace {

class BertReranker final : public Reranker {
 public:
  BertReranker(std::string path, std::unique_ptr<gguf::GgufFile> file,
               std::unique_ptr<BertModel> model, std::unique_ptr<Tokenizer> tokenizer,
               const RerankerOptions& options)
      : path_(std::move(path)),
        file_(std::move(file)),
        model_(std::move(model)),
        tokenizer_(std::move(tokenizer)),
        options_(options),
        matmul_path_(options.matmul_path == MatmulPath::kAuto ? MatmulPath::kBlas
                                                              : options.matmul_path),
        own_pool_(options.pool == nullptr ? std::make_unique<ThreadPool>(options.threads)
                                          : nullptr),
        pool_(options.pool != nullptr ? options.pool : own_pool_.get()) {
    const Vocab& v = tokenizer_->vocab();
    bos_ = v.bos >= 0 ? v.bos : v.cls;
    sep_ = v.sep >= 0 ? v.sep : v.eos;
    eos_ = v.eos >= 0 ? v.eos : sep_;
  }

  std::vector<TokenId> pair_tokens(std::string_view query,
                                   std::string_view passage) const override {
    return layout(tokenizer_->encode(query, false, true), tokenizer_->encode(passage, false, true));
  }

  Result<std::vector<float>> score(std::string_view query, std::span<const std::string> passages,
                                   RerankStats* stats) override {
    Timer timer;
    const std::vector<TokenId> q = tokenizer_->encode(query, false, true);
    const int64_t fixed = static_cast<int64_t>(q.size()) + 4;  // BOS EOS SEP ... EOS
    if (fixed > max_tokens()) {
      return invalid_argument_error("the query has " + std::to_string(q.size()) +
                                    " tokens; a rerank pair holds at most " +
                                    std::to_string(max_tokens()) + " (the model's context)");
    }
    int64_t truncated = 0;
    std::vector<std::vector<TokenId>> pairs;
    pairs.reserve(passages.size());
    for (const std::string& passage : passages) {
      std::vector<TokenId> p = tokenizer_->encode(passage, false, true);
      const size_t room = static_cast<size_t>(max_tokens() - fixed);
      if (p.size() > room) {
        p.resize(room);
        ++truncated;
      }
      pairs.push_back(layout(q, p));
    }
    auto out = score_tokens(pairs, stats);
    if (out.ok() && stats != nullptr) {
      stats->truncated = truncated;
      stats->seconds = timer.elapsed_s();
    }
    return out;
  }

  Result<std::vector<float>> score_tokens(std::span<const std::vector<TokenId>> pairs,
                                          RerankStats* stats) override {
    for (size_t i = 0; i < pairs.size(); ++i) {
      if (pairs[i].empty() || static_cast<int64_t>(pairs[i].size()) > max_tokens()) {
        return invalid_argument_error("rerank pair " + std::to_string(i) + " has " +
                                      std::to_string(pairs[i].size()) + " tokens, expected 1.." +
                                      std::to_string(max_tokens()) + " (the model's context)");
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Timer timer;
    RerankStats local;
    std::vector<float> out;
    out.reserve(pairs.size());
    size_t begin = 0;
    while (begin < pairs.size()) {
      size_t end = begin;
      int64_t tokens = 0;
      while (end < pairs.size() &&
             (end == begin ||
              tokens + static_cast<int64_t>(pairs[end].size()) <= options_.max_batch_tokens)) {
        tokens += static_cast<int64_t>(pairs[end].size());
        ++end;
      }
      std::span<const std::vector<TokenId>> batch(pairs.data() + begin, end - begin);
      QUIRE_RETURN_IF_ERROR(model_->forward(batch, hidden_, *pool_, scratch_, matmul_path_));
      QUIRE_ASSIGN_OR_RETURN(std::vector<float> scores,
                             model_->rank_scores(batch, hidden_, *pool_, scratch_, matmul_path_));
      out.insert(out.end(), scores.begin(), scores.end());
      local.tokens += tokens;
      begin = end;
    }
    local.pairs = static_cast<int64_t>(pairs.size());
    local.seconds = timer.elapsed_s();
    if (stats != nullptr) *stats = local;
    return out;
  }

  int64_t max_tokens() const override { return model_->hparams().n_ctx_train; }
  std::string name() const override {
    return file_->get_string("general.name")
        .value_or(std::filesystem::path(path_).filename().string());
  }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }

 private:
  std::vector<TokenId> layout(const std::vector<TokenId>& q, const std::vector<TokenId>& p) const {
    std::vector<TokenId> ids;
    ids.reserve(q.size() + p.size() + 4);
    if (bos_ >= 0) ids.push_back(bos_);
    ids.insert(ids.end(), q.begin(), q.end());
    if (eos_ >= 0) ids.push_back(eos_);
    if (sep_ >= 0) ids.push_back(sep_);
    ids.insert(ids.end(), p.begin(), p.end());
    if (eos_ >= 0) ids.push_back(eos_);
    return ids;
  }

  std::string path_;
  std::unique_ptr<gguf::GgufFile> file_;
  std::unique_ptr<BertModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  RerankerOptions options_;
  MatmulPath matmul_path_;
  std::unique_ptr<ThreadPool> own_pool_;
  ThreadPool* pool_;
  TokenId bos_ = -1, sep_ = -1, eos_ = -1;
  std::mutex mutex_;
  BertScratch scratch_;
  std::vector<float> hidden_;
};

}  // namespace

Result<std::unique_ptr<Reranker>> open_reranker(const std::string& path,
                                                const RerankerOptions& options) {
  QUIRE_ASSIGN_OR_RETURN(BertFile bert,
                         open_bert_file(path, "a reranker (a BERT-family cross-encoder)"));
  if (!bert.model->has_rank_head()) {
    return failed_precondition_error("'" + path +
                                     "' is an embedding model, not a reranker: it has no "
                                     "classification head (cls.* tensors); give it as the "
                                     "embedding model, and a cross-encoder as the reranker");
  }
  if (options.max_batch_tokens < 1) return invalid_argument_error("max_batch_tokens must be >= 1");
  return std::unique_ptr<Reranker>(new BertReranker(
      path, std::move(bert.file), std::move(bert.model), std::move(bert.tokenizer), options));
}

}  // namespace quire::engine
