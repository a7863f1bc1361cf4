// The citation guard: its grammar, its agreement with the parser, and sampled answers of a tiny
// random decoder that can never cite a missing source while it is on.
#include "generate/citation_guard.h"

#include <random>

#include <gtest/gtest.h>

#include "engine/runtime/generator.h"
#include "generate/citations.h"
#include "tests/support/model_gen.h"
#include "tests/support/test_support.h"

namespace quire::generate {
namespace {

bool accepts(int n_sources, std::string_view text) {
  CitationGrammar g(n_sources);
  return g.feed(text);
}

TEST(CitationGrammar, AllowsValidGroupsOnly) {
  EXPECT_TRUE(accepts(3, "Claim [1]. Next [2, 3] and [1–3] or [1-2] or [1 ; 2]."));
  EXPECT_TRUE(accepts(12, "[12]"));
  EXPECT_TRUE(accepts(3, "no brackets at all"));
  EXPECT_FALSE(accepts(12, "[13"));
  EXPECT_FALSE(accepts(3, "[4"));
  EXPECT_FALSE(accepts(3, "[0"));
  EXPECT_FALSE(accepts(3, "[a"));
  EXPECT_FALSE(accepts(3, "[]"));
  EXPECT_FALSE(accepts(3, "[1-]"));
  EXPECT_FALSE(accepts(3, "[1-2-3]"));
  EXPECT_FALSE(accepts(3, "[1\xE2\x80\x95"));  // U+2015 is not a dash the parser knows
  EXPECT_FALSE(accepts(0, "["));
  CitationGrammar g(5);
  EXPECT_TRUE(g.feed("see [1, "));
  EXPECT_TRUE(g.in_group());
  EXPECT_FALSE(g.feed('x'));  // refused, state kept
  EXPECT_TRUE(g.feed("2]"));
  EXPECT_FALSE(g.in_group());
}

// Whatever text the guard lets through, the parser finds no number outside 1..n_sources.
TEST(CitationGrammar, AgreesWithTheParserOnRandomText) {
  std::mt19937 rng(7);
  const std::string alphabet = "[[]]0123456789,; -.a\xE2\x80\x93";
  int64_t citations = 0;
  for (int round = 0; round < 2000; ++round) {
    const int n_sources = static_cast<int>(rng() % 15);
    CitationGrammar g(n_sources);
    std::string text;
    for (int i = 0; i < 60; ++i) {
      const char c = alphabet[rng() % alphabet.size()];
      if (g.feed(static_cast<unsigned char>(c))) text += c;
    }
    for (const auto& mark : parse_citations(text, n_sources)) {
      ++citations;
      EXPECT_TRUE(mark.invalid.empty()) << text << " (" << n_sources << " sources)";
    }
  }
  EXPECT_GT(citations, 500);  // the property was exercised
}

// Plays a model that likes to cite: pushes the random model to open "[", then to write a digit
// (any digit: most point at no source), then to close with "]"; then applies the guard when
// there is one.
class CitationHappyModel final : public engine::TokenConstraint {
 public:
  CitationHappyModel(std::shared_ptr<const TokenPieces> pieces,
                     std::shared_ptr<CitationGuard> guard)
      : pieces_(std::move(pieces)), guard_(std::move(guard)) {}
  void mask(std::span<float> logits) override {
    for (size_t id = 0; id < logits.size() && id < pieces_->text.size(); ++id) {
      const std::string& t = pieces_->text[id];
      const bool digit = t.size() == 1 && std::isdigit(static_cast<unsigned char>(t[0]));
      if (last_ == '[' && digit) logits[id] += 12.0f;
      if (std::isdigit(static_cast<unsigned char>(last_)) && t == "]") logits[id] += 12.0f;
      if (last_ != '[' && (t == "[" || t == " [")) logits[id] += 5.0f;
    }
    if (guard_) guard_->mask(logits);
  }
  void accept(engine::TokenId token) override {
    const std::string& t = pieces_->text[static_cast<size_t>(token)];
    if (!t.empty()) last_ = t.back();
    if (guard_) guard_->accept(token);
  }

 private:
  std::shared_ptr<const TokenPieces> pieces_;
  std::shared_ptr<CitationGuard> guard_;
  char last_ = ' ';
};

TEST(CitationGuard, SampledAnswersNeverCiteAMissingSource) {
  QUIRE_REQUIRE_SHARED();
  test::TempDir dir;
  auto vocab =
      engine::gguf::GgufFile::open(test::shared_dir() + "/conformance/models/llama-tiny-f32.gguf");
  ASSERT_TRUE(vocab.ok());
  const std::string path = dir.file("tiny-llama.gguf");
  ASSERT_TRUE(test::write_random_decoder(path, test::tiny_decoder_shape("llama"), *vocab, 11).ok());
  auto lm = engine::LanguageModel::open(path);
  ASSERT_TRUE(lm.ok()) << lm.status().message();
  const auto pieces = make_token_pieces((*lm)->tokenizer());
  engine::GeneratorOptions options;
  options.threads = 2;
  options.n_ctx = 256;
  auto gen = engine::Generator::create(**lm, options);
  ASSERT_TRUE(gen.ok());
  const int n_sources = 3;
  const auto prompt = (*lm)->tokenizer().encode("Sources: [1] a [2] b [3] c. Answer:", true, true);

  auto run = [&](bool guard_on, int64_t* invalid, int64_t* valid) {
    for (int i = 0; i < 50; ++i) {
      engine::GenerationRequest request;
      request.prompt = prompt;
      request.sampling.temperature = 1.0f;
      request.sampling.top_k = 0;
      request.sampling.top_p = 1.0f;
      request.sampling.min_p = 0.0f;
      request.sampling.seed = 1000 + static_cast<uint64_t>(i);
      request.max_tokens = 48;
      request.ignore_eos = true;
      auto guard = guard_on ? std::make_shared<CitationGuard>(pieces, n_sources) : nullptr;
      request.constraint = std::make_shared<CitationHappyModel>(pieces, guard);
      auto result = (*gen)->generate(std::move(request));
      ASSERT_TRUE(result.ok()) << result.status().message();
      for (const auto& mark : parse_citations(result->text, n_sources)) {
        *invalid += static_cast<int64_t>(mark.invalid.size());
        *valid += static_cast<int64_t>(mark.numbers.size() - mark.invalid.size());
      }
    }
  };
  int64_t invalid_on = 0, valid_on = 0, invalid_off = 0, valid_off = 0;
  run(true, &invalid_on, &valid_on);
  run(false, &invalid_off, &valid_off);
  std::printf(
      "guard on: %lld valid, %lld out-of-range cited numbers; guard off: %lld valid, "
      "%lld out-of-range\n",
      static_cast<long long>(valid_on), static_cast<long long>(invalid_on),
      static_cast<long long>(valid_off), static_cast<long long>(invalid_off));
  EXPECT_EQ(invalid_on, 0);
  EXPECT_GT(valid_on, 10);     // the guarded answers did cite
  EXPECT_GT(invalid_off, 10);  // and without the guard the same model cites missing sources
}

}  // namespace
}  // namespace quire::generate
