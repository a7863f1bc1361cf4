// The Embedder end to end: texts through the tokenizer and the encoder, against llama.cpp's
// goldens; batching; truncation; hostile text; the fingerprint cache.
#include "engine/runtime/embedder.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/model/fingerprint.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

std::string model_path(const char* variant) {
  return test::shared_dir() + "/conformance/models/bert-tiny-" + variant + ".gguf";
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

TEST(EmbedderTest, GoldenTextsEndToEnd) {
  QUIRE_REQUIRE_SHARED();
  for (const char* variant : {"f32", "f16", "q8_0"}) {
    EmbedderOptions options;
    options.parse_special = true;  // as llama-embedding, which made the goldens
    options.threads = 2;
    auto embedder = open_embedder(model_path(variant), options);
    ASSERT_TRUE(embedder.ok()) << embedder.status().to_string();
    EXPECT_EQ((*embedder)->dim(), 128);
    EXPECT_EQ((*embedder)->max_tokens(), 512);
    EXPECT_EQ((*embedder)->name(), "bert-tiny");
    std::ifstream f(test::shared_dir() + "/conformance/golden/bert-tiny-" + variant +
                    "/embeddings.json");
    auto golden = nlohmann::json::parse(f);
    std::vector<std::string> texts;
    for (const auto& item : golden["items"]) texts.push_back(item["text"]);
    EmbedStats stats;
    auto vectors = (*embedder)->embed(texts, &stats);
    ASSERT_TRUE(vectors.ok()) << vectors.status().to_string();
    ASSERT_EQ(vectors->size(), texts.size());
    int64_t tokens = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto& item = golden["items"][i];
      tokens += item["n_tokens"].get<int64_t>();
      const double c = cosine((*vectors)[i], item["pooled_mean_l2norm"].get<std::vector<float>>());
      // The bar: 0.9999 (f32, f16), 0.999 (q8_0).
      EXPECT_GE(c, std::string(variant) == "q8_0" ? 0.999 : 0.9999) << variant << " " << i;
    }
    EXPECT_EQ(stats.texts, static_cast<int64_t>(texts.size()));
    EXPECT_EQ(stats.tokens, tokens);  // the tokenizer agrees with llama.cpp's counts
    EXPECT_EQ(stats.truncated, 0);
  }
}

TEST(EmbedderTest, BatchOfFiftyEqualsEachAlone) {
  QUIRE_REQUIRE_SHARED();
  std::vector<std::string> texts;
  std::ifstream corpus(test::shared_dir() + "/data/scifact/corpus.jsonl");
  std::string line;
  for (int i = 0; i < 50 && std::getline(corpus, line); ++i) {
    std::string text = nlohmann::json::parse(line)["text"];
    texts.push_back(text.substr(0, static_cast<size_t>(1 + (i * 97) % 1500)));  // mixed lengths
  }
  for (const char* variant : {"f16", "q8_0"}) {
    EmbedderOptions options;
    options.threads = 2;
    auto embedder = open_embedder(model_path(variant), options);
    ASSERT_TRUE(embedder.ok());
    auto batched = (*embedder)->embed(texts);
    ASSERT_TRUE(batched.ok());
    double worst = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      auto alone = (*embedder)->embed(std::span<const std::string>(&texts[i], 1));
      ASSERT_TRUE(alone.ok());
      for (size_t j = 0; j < alone->at(0).size(); ++j) {
        worst = std::max(worst, static_cast<double>(std::fabs((*batched)[i][j] - (*alone)[0][j])));
      }
    }
    EXPECT_LE(worst, 1e-5) << variant;
    std::printf("  bert-tiny-%s: batch of 50 vs alone, max abs difference %.3g\n", variant, worst);
  }
}

TEST(EmbedderTest, HostileAndEdgeTexts) {
  QUIRE_REQUIRE_SHARED();
  auto embedder = open_embedder(model_path("f32"));
  ASSERT_TRUE(embedder.ok());
  const std::vector<std::string> texts = {
      "",                                  // [CLS][SEP]
      "     \t\n  ",                       // whitespace only
      std::string("\x01\x02\x7f\x1b", 4),  // control characters only
      std::string(100000, 'a') + " " + std::string("word ") + std::string(20000, 'b'),
      std::string("caf\xc3\xa9 \xff\xfe broken \xe2\x82 utf-8 \xc0\x80"),  // invalid UTF-8
  };
  EmbedStats stats;
  auto vectors = (*embedder)->embed(texts, &stats);
  ASSERT_TRUE(vectors.ok()) << vectors.status().to_string();
  ASSERT_EQ(vectors->size(), texts.size());
  for (const auto& v : *vectors) {
    ASSERT_EQ(v.size(), 128u);
    double norm = 0;
    for (float x : v) {
      ASSERT_TRUE(std::isfinite(x));
      norm += static_cast<double>(x) * x;
    }
    EXPECT_NEAR(norm, 1.0, 1e-5);  // defined, normalized output for every input
  }
  // Empty, whitespace-only and control-only texts all reduce to [CLS][SEP].
  EXPECT_EQ((*vectors)[0], (*vectors)[1]);
  EXPECT_EQ((*vectors)[0], (*vectors)[2]);
  EXPECT_GE(stats.truncated, 0);
  std::string long_text;
  for (int i = 0; i < 20000; ++i) long_text += "word ";
  EmbedStats long_stats;
  auto long_vector = (*embedder)->embed(std::span<const std::string>(&long_text, 1), &long_stats);
  ASSERT_TRUE(long_vector.ok());
  EXPECT_EQ(long_stats.truncated, 1);
  EXPECT_EQ(long_stats.tokens, 512);
}

TEST(EmbedderTest, MaxTokensOptionTruncates) {
  QUIRE_REQUIRE_SHARED();
  EmbedderOptions options;
  options.max_tokens = 8;
  auto embedder = open_embedder(model_path("f32"), options);
  ASSERT_TRUE(embedder.ok());
  EXPECT_EQ((*embedder)->max_tokens(), 8);
  EmbedStats stats;
  std::vector<std::string> texts = {"one two three four five six seven eight nine ten", "short"};
  ASSERT_TRUE((*embedder)->embed(texts, &stats).ok());
  EXPECT_EQ(stats.truncated, 1);
  EXPECT_EQ(stats.tokens, 8 + 3);
  options.max_tokens = 1;
  EXPECT_EQ(open_embedder(model_path("f32"), options).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(EmbedderTest, EmbedTokensMatchesEmbedBitForBit) {
  QUIRE_REQUIRE_SHARED();
  EmbedderOptions options;
  options.threads = 2;
  options.max_tokens = 16;        // the long text is truncated, the short ones are not
  options.max_batch_tokens = 40;  // several batches
  auto embedder = open_embedder(model_path("f32"), options);
  ASSERT_TRUE(embedder.ok()) << embedder.status().to_string();
  std::vector<std::string> texts = {
      "",
      "short",
      "The quick brown fox jumps over the lazy dog.",
      "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen",
      "caf\xc3\xa9 au lait, s'il vous pla\xc3\xaet",
  };
  for (int i = 0; i < 12; ++i) texts.push_back("text number " + std::to_string(i) + " of many");
  EmbedStats text_stats;
  auto from_texts = (*embedder)->embed(texts, &text_stats);
  ASSERT_TRUE(from_texts.ok()) << from_texts.status().to_string();

  std::vector<std::vector<TokenId>> seqs;
  for (const std::string& t : texts) {
    seqs.push_back((*embedder)->tokenizer().encode(t, /*add_special=*/true, false));
  }
  EmbedStats token_stats;
  auto from_tokens = (*embedder)->embed_tokens(seqs, &token_stats);
  ASSERT_TRUE(from_tokens.ok()) << from_tokens.status().to_string();
  ASSERT_EQ(from_tokens->size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ((*from_tokens)[i], (*from_texts)[i]) << "text " << i;  // exact, not close
  }
  EXPECT_EQ(token_stats.texts, text_stats.texts);
  EXPECT_EQ(token_stats.tokens, text_stats.tokens);
  EXPECT_EQ(token_stats.truncated, 1);
  EXPECT_EQ(text_stats.truncated, 1);
  // The caller's ids are not touched by the truncation.
  EXPECT_GT(seqs[3].size(), 16u);

  EXPECT_TRUE((*embedder)->embed_tokens({}).value().empty());
  const std::vector<std::vector<TokenId>> out_of_vocab = {{0, 1 << 30, 2}};
  EXPECT_EQ((*embedder)->embed_tokens(out_of_vocab).status().code(), StatusCode::kInvalidArgument);
}

TEST(EmbedderTest, SharedPoolGivesTheSameVectors) {
  QUIRE_REQUIRE_SHARED();
  const std::vector<std::string> texts = {"a shared pool", "serves the embedder", ""};
  EmbedderOptions own;
  own.threads = 2;
  auto a = open_embedder(model_path("f32"), own);
  ASSERT_TRUE(a.ok());
  ThreadPool pool(2);
  EmbedderOptions shared;
  shared.threads = 7;  // unused with a pool
  shared.pool = &pool;
  auto b = open_embedder(model_path("f32"), shared);
  ASSERT_TRUE(b.ok());
  auto va = (*a)->embed(texts);
  auto vb = (*b)->embed(texts);
  ASSERT_TRUE(va.ok() && vb.ok());
  EXPECT_EQ(*va, *vb);
}

TEST(EmbedderTest, RefusesDecodersAndMissingFiles) {
  QUIRE_REQUIRE_SHARED();
  auto decoder = open_embedder(test::shared_dir() + "/conformance/models/llama-tiny-q8_0.gguf");
  EXPECT_EQ(decoder.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(decoder.status().message().find("'llama'"), std::string::npos);
  EXPECT_NE(decoder.status().message().find("bert"), std::string::npos);
  EXPECT_EQ(open_embedder("/nonexistent/model.gguf").status().code(), StatusCode::kNotFound);
}

TEST(EmbedderTest, FingerprintIsCachedOnDisk) {
  QUIRE_REQUIRE_SHARED();
  test::TempDir cache;
  ::setenv("QUIRE_CACHE_DIR", cache.path().c_str(), 1);
  auto file = gguf::GgufFile::open(model_path("q8_0"));
  ASSERT_TRUE(file.ok());
  const std::string direct = hash_tensor_data(*file);
  EXPECT_EQ(direct.size(), 64u);
  auto first = model_fingerprint(*file, model_path("q8_0"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, direct);
  // The cache file now holds the digest; a doctored entry proves the second call reads it.
  const std::string cache_file = cache.file("fingerprints.tsv");
  std::string text = test::read_text_file(cache_file);
  ASSERT_NE(text.find(direct), std::string::npos);
  const std::string doctored(64, 'a');
  text.replace(text.find(direct), direct.size(), doctored);
  test::write_file(cache_file, std::vector<uint8_t>(text.begin(), text.end()));
  auto second = model_fingerprint(*file, model_path("q8_0"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, doctored);
  // Different weights, different fingerprint.
  auto other = gguf::GgufFile::open(model_path("f16"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(hash_tensor_data(*other), direct);
  ::unsetenv("QUIRE_CACHE_DIR");
}

}  // namespace
}  // namespace quire::engine
