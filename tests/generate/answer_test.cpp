// The Answerer on a real store (SQLite + FTS5, BM25) with text documents: the generative path
// on a tiny random decoder (the rendered prompt holds the numbered sources; the citation guard
// keeps 50 sampled answers free of out-of-range numbers, while without it the same pushed
// model cites missing sources), the extractive path, declines and errors.
#include "generate/answer.h"

#include <cstdio>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_reader.h"
#include "ingest/pipeline.h"
#include "tests/support/model_gen.h"
#include "tests/support/test_support.h"

namespace quire::generate {
namespace {

// Raises the logits of a citation's tokens in order: " [" or "[", then a digit, then "]".
class CitingModel final : public engine::TokenConstraint {
 public:
  explicit CitingModel(std::shared_ptr<const TokenPieces> pieces) : pieces_(std::move(pieces)) {}
  void mask(std::span<float> logits) override {
    for (size_t id = 0; id < logits.size() && id < pieces_->text.size(); ++id) {
      const std::string& t = pieces_->text[id];
      const bool digit = t.size() == 1 && t[0] >= '0' && t[0] <= '9';
      if (last_ == '[' && digit) logits[id] += 12.0f;
      if (last_ >= '0' && last_ <= '9' && t == "]") logits[id] += 12.0f;
      if (last_ != '[' && (t == "[" || t == " [")) logits[id] += 5.0f;
    }
  }
  void accept(engine::TokenId token) override {
    const std::string& t = pieces_->text[static_cast<size_t>(token)];
    if (!t.empty()) last_ = t.back();
  }

 private:
  std::shared_ptr<const TokenPieces> pieces_;
  char last_ = ' ';
};

class AnswererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = index::Store::open(dir_.file("db"));
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ingest::IndexPipeline pipeline(*store_, nullptr, {});
    std::vector<ingest::TextDocument> docs = {
        {"optimizer", "Training setup",
         "We train every model with the AdamW optimizer and a weight decay of 0.1. The learning "
         "rate warmup lasts 2000 steps, after which a cosine schedule decays the rate to ten "
         "percent of its peak value. Gradients are clipped to a global norm of 1.0."},
        {"tokenizer", "Tokenization",
         "The tokenizer is a byte-level BPE with a vocabulary of 50257 tokens. Numbers are "
         "split into single digits so that arithmetic generalizes better."},
        {"hardware", "Hardware",
         "The largest model was trained on 512 accelerator chips for 57 days. Checkpoints were "
         "written every three hours to remote storage with the learning rate state."},
    };
    auto summary = pipeline.index_texts(docs);
    ASSERT_TRUE(summary.ok()) << summary.status().to_string();
  }

  test::TempDir dir_;
  std::unique_ptr<index::Store> store_;
};

TEST_F(AnswererTest, ExtractiveAnswerCitesTheAnsweringDocument) {
  Answerer answerer(*store_, nullptr, nullptr, nullptr);
  EXPECT_FALSE(answerer.generative());
  AskOptions options;
  options.mode = retrieve::SearchMode::kBm25;
  auto a = answerer.ask("How many steps does the learning rate warmup last?", options);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->mode, "extractive");
  ASSERT_FALSE(a->citations.empty());
  EXPECT_EQ(a->citations[0].path, "optimizer");
  EXPECT_NE(a->text.find("2000 steps"), std::string::npos) << a->text;
  // Sources are numbered 1..n; every citation names one; char offsets hold the snippet.
  for (size_t i = 0; i < a->sources.size(); ++i) {
    EXPECT_EQ(a->sources[i].number, static_cast<int>(i + 1));
  }
  for (const Citation& c : a->citations) {
    ASSERT_GE(c.n, 1);
    ASSERT_LE(c.n, static_cast<int>(a->sources.size()));
    const auto& s = a->sources[static_cast<size_t>(c.n - 1)];
    ASSERT_GE(c.char_start, s.char_start);
    ASSERT_LE(c.char_end, s.char_end);
    const std::string cited = s.text.substr(static_cast<size_t>(c.char_start - s.char_start),
                                            static_cast<size_t>(c.char_end - c.char_start));
    EXPECT_EQ(cited.substr(0, 20), c.snippet.substr(0, 20));
  }
}

TEST_F(AnswererTest, DeclinesAndErrors) {
  Answerer answerer(*store_, nullptr, nullptr, nullptr);
  AskOptions options;
  options.mode = retrieve::SearchMode::kBm25;
  auto declined = answerer.ask("Which consensus protocol does Zookeeper use?", options);
  ASSERT_TRUE(declined.ok());
  EXPECT_EQ(declined->mode, "declined");
  EXPECT_EQ(declined->decline.absent_names, std::vector<std::string>{"Zookeeper"});
  EXPECT_TRUE(declined->citations.empty());
  EXPECT_EQ(answerer.ask(" \n", options).status().code(), StatusCode::kInvalidArgument);
  options.budget_tokens = 2;
  EXPECT_EQ(answerer.ask("What is the vocabulary size of the tokenizer?", options).status().code(),
            StatusCode::kResourceExhausted);
}

TEST_F(AnswererTest, GenerativePromptHoldsNumberedSourcesAndTheGuardKeepsCitationsValid) {
  QUIRE_REQUIRE_SHARED();
  auto vocab =
      engine::gguf::GgufFile::open(test::shared_dir() + "/conformance/models/llama-tiny-f32.gguf");
  ASSERT_TRUE(vocab.ok());
  const std::string path = dir_.file("tiny-llama.gguf");
  ASSERT_TRUE(test::write_random_decoder(path, test::tiny_decoder_shape("llama"), *vocab, 17).ok());
  auto lm = engine::LanguageModel::open(path);
  ASSERT_TRUE(lm.ok()) << lm.status().message();
  engine::GeneratorOptions go;
  go.threads = 2;
  go.n_ctx = 512;
  go.cached_sequences = 0;
  auto gen = engine::Generator::create(**lm, go);
  ASSERT_TRUE(gen.ok());
  Answerer answerer(*store_, nullptr, lm->get(), gen->get());
  ASSERT_TRUE(answerer.generative());

  AskOptions options;
  options.mode = retrieve::SearchMode::kBm25;
  options.chat.template_name = "chatml";
  options.max_tokens = 8;
  auto greedy = answerer.ask("What learning rate warmup and schedule were used?", options);
  ASSERT_TRUE(greedy.ok()) << greedy.status().to_string();
  ASSERT_EQ(greedy->mode, "generative");
  ASSERT_GE(greedy->sources.size(), 2u);
  // The rendered prompt: the instruction, each source as "[n] Title — file, ..." with its text,
  // then the question, inside the chat template.
  const std::string& prompt = greedy->prompt;
  EXPECT_NE(prompt.find("<|im_start|>system"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("square brackets"), std::string::npos) << prompt;  // the instruction
  size_t last = 0;
  for (const auto& s : greedy->sources) {
    std::string head(1, '[');
    head.append(std::to_string(s.number)).append("] ").append(s.title);
    const size_t at = prompt.find(head);
    ASSERT_NE(at, std::string::npos) << head << "\n" << prompt;
    EXPECT_GT(at, last);  // in order
    last = at;
    EXPECT_NE(prompt.find(s.text.substr(0, 40)), std::string::npos) << s.text;
  }
  EXPECT_GT(prompt.find("What learning rate warmup and schedule were used?"), last);
  EXPECT_GT(greedy->prompt_tokens, 50);

  // A model pushed to cite (a constraint that raises "[" and, after it, the digits, and after
  // a digit "]"; any digit, so most numbers name no source), sampled at temperature 1: with
  // the guard every [n] names a packed source; without it the same model cites numbers that
  // name none.
  const auto pieces = make_token_pieces((*lm)->tokenizer());
  auto sample = [&](bool guard, int64_t* invalid, int64_t* valid) {
    for (int i = 0; i < 50; ++i) {
      AskOptions o = options;
      o.citation_guard = guard;
      o.constraint = std::make_shared<CitingModel>(pieces);
      o.max_tokens = 24;
      o.sampling.temperature = 1.0f;
      o.sampling.top_k = 0;
      o.sampling.top_p = 1.0f;
      o.sampling.min_p = 0.0f;
      o.sampling.seed = 500 + static_cast<uint64_t>(i);
      auto a = answerer.ask("What learning rate warmup and schedule were used?", o);
      ASSERT_TRUE(a.ok()) << a.status().to_string();
      *invalid += static_cast<int64_t>(a->invalid_citations.size());
      for (const Citation& c : a->citations) {
        EXPECT_GE(c.n, 1);
        EXPECT_LE(c.n, static_cast<int>(a->sources.size()));
      }
      *valid += static_cast<int64_t>(a->citations.size());
    }
  };
  int64_t invalid_on = 0, valid_on = 0, invalid_off = 0, valid_off = 0;
  sample(true, &invalid_on, &valid_on);
  sample(false, &invalid_off, &valid_off);
  std::printf(
      "50 answers, guard on: %lld distinct valid citations, %lld out-of-range numbers; guard "
      "off: %lld valid, %lld out-of-range\n",
      static_cast<long long>(valid_on), static_cast<long long>(invalid_on),
      static_cast<long long>(valid_off), static_cast<long long>(invalid_off));
  EXPECT_EQ(invalid_on, 0);
  EXPECT_GT(valid_on, 10);
  EXPECT_GT(invalid_off, 10);
}

}  // namespace
}  // namespace quire::generate
