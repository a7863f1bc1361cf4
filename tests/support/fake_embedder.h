// An engine::Embedder for retrieval tests: it returns vectors the test chose (by exact text) and
// a seeded unit vector for any other text, and counts its calls. No model file is involved, so
// tests can hand-build geometry (near-duplicates, orthogonal chunks) and check the stages above.
//
// Thread-safety: embed and the counters may be used from several threads at once (a mutex
// guards the table; the counters are atomic).
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "engine/runtime/embedder.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::test {

// A tokenizer with an empty vocabulary; FakeEmbedder never tokenizes.
class NullTokenizer : public engine::Tokenizer {
 public:
  NullTokenizer() : engine::Tokenizer(engine::Vocab{}) {}
  std::vector<engine::TokenId> encode(std::string_view, bool, bool) const override { return {}; }
};

// `v` scaled to unit length.
inline std::vector<float> unit(std::vector<float> v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

class FakeEmbedder : public engine::Embedder {
 public:
  explicit FakeEmbedder(int64_t dim, std::string name = "fake-embedder")
      : dim_(dim), name_(std::move(name)) {}

  // embed(text) returns `vector` (which should be a unit vector of dim values).
  void set(const std::string& text, std::vector<float> vector) {
    std::lock_guard<std::mutex> lock(mutex_);
    fixed_[text] = std::move(vector);
  }

  Result<std::vector<std::vector<float>>> embed(std::span<const std::string> texts,
                                                engine::EmbedStats* stats = nullptr) override {
    ++embed_calls_;
    texts_embedded_ += static_cast<int64_t>(texts.size());
    std::vector<std::vector<float>> out;
    for (const std::string& text : texts) out.push_back(vector_of(text));
    if (stats != nullptr) stats->texts = static_cast<int64_t>(texts.size());
    return out;
  }
  Result<std::vector<std::vector<float>>> embed_tokens(
      std::span<const std::vector<engine::TokenId>>, engine::EmbedStats* = nullptr) override {
    return unimplemented_error("FakeEmbedder::embed_tokens");
  }
  int64_t dim() const override { return dim_; }
  int64_t max_tokens() const override { return 512; }
  std::string name() const override { return name_; }
  const engine::Tokenizer& tokenizer() const override { return tokenizer_; }
  Result<std::string> fingerprint() override { return std::string(64, 'f'); }

  int64_t embed_calls() const { return embed_calls_; }
  int64_t texts_embedded() const { return texts_embedded_; }

 private:
  std::vector<float> vector_of(const std::string& text) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = fixed_.find(text);
      if (it != fixed_.end()) return it->second;
    }
    std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(text)));
    std::normal_distribution<float> normal;
    std::vector<float> v(static_cast<size_t>(dim_));
    for (float& x : v) x = normal(rng);
    return unit(std::move(v));
  }

  int64_t dim_;
  std::string name_;
  NullTokenizer tokenizer_;
  std::mutex mutex_;
  std::map<std::string, std::vector<float>> fixed_;
  std::atomic<int64_t> embed_calls_{0};
  std::atomic<int64_t> texts_embedded_{0};
};

}  // namespace quire::test
