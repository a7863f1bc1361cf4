// The tokenizer-kind table: every tokenizer.ggml.model value quire knows, its name for people
// (`quire models inspect`) and whether quire implements it.
#include "engine/tokenizer/tokenizer.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace quire::engine {
namespace {

struct Expected {
  std::string_view model;
  std::string_view name;
  bool implemented;
};

TEST(TokenizerKindsTest, EveryEntry) {
  const std::vector<Expected> expected = {
      {"bert", "WordPiece", true},
      {"llama", "SentencePiece", true},
      {"gpt2", "BPE (byte-level)", true},
      {"t5", "Unigram (T5)", false},
      {"rwkv", "RWKV", false},
  };
  ASSERT_EQ(tokenizer_kinds().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const TokenizerKind& kind = tokenizer_kinds()[i];
    EXPECT_EQ(kind.model, expected[i].model);
    EXPECT_EQ(kind.name, expected[i].name);
    EXPECT_EQ(kind.make != nullptr, expected[i].implemented) << kind.model;
    EXPECT_EQ(find_tokenizer_kind(kind.model), &kind);
    EXPECT_EQ(tokenizer_kind_name(kind.model), expected[i].name);
  }
}

TEST(TokenizerKindsTest, NamesOfFilesWithoutOrWithAnUnknownTokenizer) {
  EXPECT_EQ(find_tokenizer_kind("plamo2"), nullptr);
  EXPECT_EQ(tokenizer_kind_name(""), "none");
  EXPECT_EQ(tokenizer_kind_name("none"), "none");
  EXPECT_EQ(tokenizer_kind_name("plamo2"), "unknown (plamo2)");
}

}  // namespace
}  // namespace quire::engine
