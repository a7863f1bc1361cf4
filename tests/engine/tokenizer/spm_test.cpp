// SentencePiece tokenizer against llama.cpp: the tokens.jsonl goldens of llama-tiny (8,192-token
// vocab) and of the full llama-spm and phi-3 vocabs, llama.cpp's own .inp/.out cases for both,
// edge cases (empty, very long, invalid UTF-8, byte fallback, phi-3's whitespace rule) and
// hand-built vocabularies for the merge order and the fallbacks.
#include "engine/tokenizer/spm.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"
#include "tests/support/test_support.h"
#include "tests/support/tokenizer_goldens.h"

namespace quire::engine {
namespace {

using gguf::GgufFile;
using nlohmann::json;
using test::check_inp_out;
using test::check_tokens_jsonl;
using test::load_tokenizer;

// The full vocabs, loaded once.
const Tokenizer* llama_spm() {
  static const std::unique_ptr<Tokenizer> tokenizer =
      load_tokenizer(test::conformance_path("vocab/ggml-vocab-llama-spm.gguf"));
  return tokenizer.get();
}
const Tokenizer* phi3() {
  static const std::unique_ptr<Tokenizer> tokenizer =
      load_tokenizer(test::conformance_path("vocab/ggml-vocab-phi-3.gguf"));
  return tokenizer.get();
}

TEST(SpmGolden, LlamaTinyF32) {
  QUIRE_REQUIRE_SHARED();
  const auto tokenizer = load_tokenizer(test::conformance_path("models/llama-tiny-f32.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  ASSERT_EQ(tokenizer->vocab().size(), 8192u);
  EXPECT_FALSE(SpmTokenizer::is_phi3_vocab(tokenizer->vocab()));
  size_t lines = 0;
  const size_t passed = check_tokens_jsonl(
      *tokenizer, test::conformance_path("golden/llama-tiny-f32/tokens.jsonl"), &lines);
  EXPECT_EQ(lines, 32u);
  EXPECT_EQ(passed, lines);
  std::printf("llama-tiny-f32 tokens.jsonl: %zu/%zu lines match\n", passed, lines);
}

TEST(SpmGolden, VocabLlamaSpm) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(llama_spm(), nullptr);
  ASSERT_EQ(llama_spm()->vocab().size(), 32000u);
  EXPECT_FALSE(SpmTokenizer::is_phi3_vocab(llama_spm()->vocab()));
  size_t lines = 0;
  const size_t passed = check_tokens_jsonl(
      *llama_spm(), test::conformance_path("golden/vocab-llama-spm/tokens.jsonl"), &lines);
  EXPECT_EQ(lines, 32u);
  EXPECT_EQ(passed, lines);
  std::printf("vocab-llama-spm tokens.jsonl: %zu/%zu lines match\n", passed, lines);
}

TEST(SpmGolden, VocabPhi3) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(phi3(), nullptr);
  ASSERT_EQ(phi3()->vocab().size(), 32064u);
  EXPECT_TRUE(SpmTokenizer::is_phi3_vocab(phi3()->vocab()));
  size_t lines = 0;
  const size_t passed = check_tokens_jsonl(
      *phi3(), test::conformance_path("golden/vocab-phi-3/tokens.jsonl"), &lines);
  EXPECT_EQ(lines, 32u);
  EXPECT_EQ(passed, lines);
  std::printf("vocab-phi-3 tokens.jsonl: %zu/%zu lines match\n", passed, lines);
}

TEST(SpmGolden, LlamaCppInpOutLlamaSpm) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(llama_spm(), nullptr);
  check_inp_out(*llama_spm(), "ggml-vocab-llama-spm.gguf");
}

TEST(SpmGolden, LlamaCppInpOutPhi3) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(phi3(), nullptr);
  check_inp_out(*phi3(), "ggml-vocab-phi-3.gguf");
}

// ---- edge cases on the full vocab ----

TEST(SpmEdge, EmptyText) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(llama_spm(), nullptr);
  EXPECT_EQ(llama_spm()->encode("", false, false), std::vector<TokenId>{});
  EXPECT_EQ(llama_spm()->encode("", true, true), std::vector<TokenId>{1});
  EXPECT_EQ(llama_spm()->decode(std::vector<TokenId>{}, true, true), "");
  EXPECT_EQ(llama_spm()->decode(std::vector<TokenId>{1}, true, false), "");
}

TEST(SpmEdge, VeryLongText) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(llama_spm(), nullptr);
  const Tokenizer& spm = *llama_spm();
  // 100,000 characters of prose: sentence copies joined by spaces each tokenize like the first
  // (whose space prefix plays the role of the joining space), and decode gives the text back.
  const std::string sentence = "The quick brown fox jumps over the lazy dog.";
  const auto sentence_ids = spm.encode(sentence, false, false);
  ASSERT_EQ(sentence_ids.size(), 12u);
  std::string text = sentence;
  while (text.size() + 1 + sentence.size() <= 100000) {
    text += ' ';
    text += sentence;
  }
  const size_t copies = (text.size() + 1) / (sentence.size() + 1);
  const auto ids = spm.encode(text, false, false);
  ASSERT_EQ(ids.size(), copies * sentence_ids.size());
  for (size_t c = 0; c < copies; ++c) {
    ASSERT_TRUE(
        std::equal(sentence_ids.begin(), sentence_ids.end(), ids.begin() + c * sentence_ids.size()))
        << "copy " << c;
  }
  EXPECT_EQ(spm.decode(ids, false, false), text);

  // One 100,000-letter word, as golden line 24: "▁a" (score -4) merges first, then "aa"
  // (-7081) pairs from the left, then "aaaa" (-26878) pairs of those: ▁a, 24,999 x aaaa, and
  // the leftovers aa and a.
  const auto word_ids = spm.encode(std::string(100000, 'a'), false, false);
  ASSERT_EQ(word_ids.size(), 1u + 24999u + 1u + 1u);
  EXPECT_EQ(word_ids.front(), 263);  // ▁a
  EXPECT_TRUE(std::all_of(word_ids.begin() + 1, word_ids.begin() + 25000,
                          [](TokenId id) { return id == 27137; }));  // aaaa
  EXPECT_EQ(word_ids[25000], 7340);                                  // aa
  EXPECT_EQ(word_ids[25001], 29874);                                 // a
  EXPECT_EQ(spm.decode(word_ids, false, false), std::string(100000, 'a'));

  // 100,000 random bytes: invalid UTF-8 everywhere, and still an exact round trip through byte
  // tokens. Without 0xE2 (a literal "▁" would decode as a space) and without spaces (a bad lead
  // byte can swallow the escaped space's bytes; see InvalidUtf8AndByteFallback).
  std::mt19937 rng(7);
  std::string noise(100000, '\0');
  for (char& c : noise) {
    c = static_cast<char>(rng() & 0xFF);
    if (c == ' ' || static_cast<uint8_t>(c) == 0xE2) c = 'x';
  }
  const auto noise_ids = spm.encode(noise, false, false);
  EXPECT_GT(noise_ids.size(), noise.size() / 2);
  EXPECT_TRUE(spm.decode(noise_ids, false, false) == noise);  // (no 100 kB diff on failure)
}

TEST(SpmEdge, InvalidUtf8AndByteFallback) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(llama_spm(), nullptr);
  const auto ids = [](std::string_view text) { return llama_spm()->encode(text, false, false); };
  // Byte token <0xNN> is id NN + 3 in this vocab; 29871 is "▁".
  // A character the vocab lacks falls back to its UTF-8 bytes (golden line 7's 🦙).
  EXPECT_EQ(ids("\xF0\x9F\xA6\x99"), (std::vector<TokenId>{29871, 243, 162, 169, 156}));
  // A 2-byte lead takes the next byte whatever it is: "\xC3(" is one unknown character.
  EXPECT_EQ(ids("\xC3("), (std::vector<TokenId>{29871, 0xC3 + 3, '(' + 3}));
  EXPECT_EQ(ids("("), (std::vector<TokenId>{313}));  // "▁(" when valid
  // A stray continuation byte is a character of its own; a sequence cut by the end of text is
  // shorter than its lead byte says.
  EXPECT_EQ(ids("\x80"), (std::vector<TokenId>{29871, 0x80 + 3}));
  EXPECT_EQ(ids("\xF0\x9F"), (std::vector<TokenId>{29871, 0xF0 + 3, 0x9F + 3}));
  // 0xFF announces 4 bytes.
  EXPECT_EQ(ids("\xFF"
                "abc"),
            (std::vector<TokenId>{29871, 0xFF + 3, 'a' + 3, 'b' + 3, 'c' + 3}));
  // Spaces are escaped before the text is cut into characters, so a bad lead byte before a space
  // takes bytes of its "▁" (E2 96 81): they come back as bytes, and the text decodes with a
  // literal "▁" (llama.cpp does the same).
  EXPECT_EQ(ids("\xEE x"),
            (std::vector<TokenId>{29871, 0xEE + 3, 0xE2 + 3, 0x96 + 3, 0x81 + 3, 29916}));
  EXPECT_EQ(llama_spm()->decode(ids("\xEE x"), false, false), "\xEE\xE2\x96\x81x");
  // Every byte value alone and in pairs: no crash, an exact round trip after the "▁" prefix.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 5) {
      if (a == 0xE2 || b == 0xE2) continue;
      const char bytes[2] = {static_cast<char>(a), static_cast<char>(b)};
      const std::string_view text(bytes, 2);
      const auto got = llama_spm()->encode(text, true, true);
      ASSERT_GE(got.size(), 2u);
      ASSERT_EQ(got[0], 1);
      ASSERT_EQ(llama_spm()->decode(got, true, false), std::string(" ").append(text))
          << a << " " << b;
    }
  }
}

TEST(SpmEdge, TokenToPieceByType) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(llama_spm(), nullptr);
  const Tokenizer& spm = *llama_spm();
  EXPECT_EQ(spm.token_to_piece(0, false), "");  // <unk> (UNKNOWN)
  EXPECT_EQ(spm.token_to_piece(0, true), "<unk>");
  EXPECT_EQ(spm.token_to_piece(1, false), "");  // <s> (CONTROL)
  EXPECT_EQ(spm.token_to_piece(1, true), "<s>");
  EXPECT_EQ(spm.token_to_piece(3, false), std::string(1, '\0'));  // <0x00>
  EXPECT_EQ(spm.token_to_piece(0xF0 + 3, false), "\xF0");
  EXPECT_EQ(spm.token_to_piece(15043, false), " Hello");
  EXPECT_EQ(spm.token_to_piece(-1, true), "");
  EXPECT_EQ(spm.token_to_piece(32000, true), "");
  // phi-3's </s> is USER_DEFINED: its text even without `special`; [PAD...] are UNKNOWN.
  ASSERT_NE(phi3(), nullptr);
  EXPECT_EQ(phi3()->token_to_piece(2, false), "</s>");
  EXPECT_EQ(phi3()->token_to_piece(32011, false), "");
  EXPECT_EQ(phi3()->token_to_piece(32011, true), "[PAD32011]");
  // decode: a BOS is dropped only with remove_special; the first piece loses its space only
  // when no BOS was removed.
  // When the BOS stays, it is the first piece: the space of " Hello" then stays too.
  const std::vector<TokenId> ids = {1, 15043, 3186, 2};
  EXPECT_EQ(spm.decode(ids, true, false), " Hello world");
  EXPECT_EQ(spm.decode(ids, false, false), " Hello world");
  EXPECT_EQ(spm.decode(std::span(ids).subspan(1), false, false), "Hello world");
  EXPECT_EQ(spm.decode(ids, false, true), "<s> Hello world</s>");
}

TEST(SpmEdge, Phi3StripsWhitespaceAfterSpecialTokens) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(phi3(), nullptr);
  ASSERT_NE(llama_spm(), nullptr);
  // <|user|> (32010), <|end|> (32007), <|assistant|> (32001) eat the whitespace after them,
  // newlines included; "Hello" then gets the usual space prefix: ▁Hello (15043).
  EXPECT_EQ(phi3()->encode("<|user|>\n Hello<|end|>\n<|assistant|>\n", false, true),
            (std::vector<TokenId>{32010, 15043, 32007, 32001}));
  // <s> and <|endoftext|> do not: the space after them stays, the prefix adds another: "▁▁x"
  // = ▁ (29871) ▁x (921).
  EXPECT_EQ(phi3()->encode("<|endoftext|> x", false, true),
            (std::vector<TokenId>{32000, 29871, 921}));
  EXPECT_EQ(phi3()->encode("<s> x", false, true), (std::vector<TokenId>{1, 29871, 921}));
  // Without parse_special only </s> (user-defined) is split out, and strips too.
  EXPECT_EQ(phi3()->encode("a</s>  b", false, false), (std::vector<TokenId>{263, 2, 289}));
  // The llama vocab has no such rule: "</s>" is CONTROL there, and the spaces after it stay.
  EXPECT_EQ(llama_spm()->encode("a</s> b", false, true),
            (std::vector<TokenId>{263, 2, 29871, 289}));
}

// ---- hand-built vocabularies ----

// A vocab built in memory: tokens with types and scores, indexed like Vocab::from_gguf does.
Vocab make_vocab(const std::vector<std::tuple<std::string, TokenType, float>>& entries) {
  Vocab vocab;
  vocab.model = "llama";
  for (const auto& [text, type, score] : entries) {
    vocab.tokens.push_back(text);
    vocab.types.push_back(type);
    vocab.scores.push_back(score);
  }
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    vocab.index[vocab.tokens[i]] = static_cast<TokenId>(i);
  }
  vocab.unk = 0;
  vocab.bos = 1;
  vocab.eos = 2;
  vocab.add_bos = true;
  vocab.add_space_prefix = false;
  return vocab;
}

std::unique_ptr<Tokenizer> make(Vocab vocab) {
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(std::move(vocab));
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  return tokenizer.ok() ? std::move(tokenizer).value() : nullptr;
}

constexpr TokenType kN = TokenType::kNormal;

// Ids: 0 <unk>, 1 <s>, 2 </s>, 3 a, 4 b, 5 c, 6 ab, 7 bc, 8 abc, 9 ▁, 10 ▁a, 11 <tag> (user).
Vocab merge_vocab(float score_ab, float score_bc) {
  return make_vocab({{"<unk>", TokenType::kUnknown, 0},
                     {"<s>", TokenType::kControl, 0},
                     {"</s>", TokenType::kControl, 0},
                     {"a", kN, -1},
                     {"b", kN, -1},
                     {"c", kN, -1},
                     {"ab", kN, score_ab},
                     {"bc", kN, score_bc},
                     {"abcd", kN, 10},
                     {"\xE2\x96\x81", kN, -2},
                     {"\xE2\x96\x81"
                      "a",
                      kN, -3},
                     {"<tag>", TokenType::kUserDefined, 0}});
}

TEST(SpmTiny, HighestScoreFirstTiesLeftmost) {
  // "abc": ab and bc compete; the higher score wins, and the left pair on a tie.
  EXPECT_EQ(make(merge_vocab(1, 2))->encode("abc", false, false), (std::vector<TokenId>{3, 7}));
  EXPECT_EQ(make(merge_vocab(2, 1))->encode("abc", false, false), (std::vector<TokenId>{6, 5}));
  EXPECT_EQ(make(merge_vocab(1, 1))->encode("abc", false, false), (std::vector<TokenId>{6, 5}));
  // "abcabc": a tie everywhere, leftmost first: ab c ab c.
  EXPECT_EQ(make(merge_vocab(1, 1))->encode("abcabc", false, false),
            (std::vector<TokenId>{6, 5, 6, 5}));
  // "bcab" with bc preferred: bc ab.
  EXPECT_EQ(make(merge_vocab(1, 2))->encode("bcab", false, false), (std::vector<TokenId>{7, 6}));
}

TEST(SpmTiny, UnknownCharactersWithoutByteTokens) {
  // No byte tokens: a character outside the vocab is one <unk>, whatever its length.
  const auto tokenizer = make(merge_vocab(1, 1));
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->encode("a\xC3\xA9"
                              "b?",
                              false, false),
            (std::vector<TokenId>{3, 0, 4, 0}));
  // add_special adds BOS only (add_eos off); user-defined text is split out and, since the
  // fragment after it counts as following a special token, spaces become ▁.
  EXPECT_EQ(tokenizer->encode("a<tag> a", true, false), (std::vector<TokenId>{1, 3, 11, 10}));
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{1, 3, 11, 10}, true, false), "a<tag> a");
}

TEST(SpmTiny, SpacePrefixAndEos) {
  Vocab vocab = merge_vocab(1, 1);
  vocab.add_space_prefix = true;
  vocab.add_eos = true;
  const auto tokenizer = make(std::move(vocab));
  ASSERT_NE(tokenizer, nullptr);
  // "▁ab": ab (score 1) beats ▁a (score -3), and "▁ab" is no token: ▁ ab. The prefix goes on
  // the first fragment and on the one after <s>.
  EXPECT_EQ(tokenizer->encode("ab", true, false), (std::vector<TokenId>{1, 9, 6, 2}));
  EXPECT_EQ(tokenizer->encode("a<s>a", false, true), (std::vector<TokenId>{10, 1, 10}));
  EXPECT_EQ(tokenizer->encode("a<s>a", false, false),
            (std::vector<TokenId>{10, 0, 0, 0, 3}));  // "<", "s", ">" are unknown here
  // decode with remove_special drops BOS and EOS; the first piece's space stays after a BOS.
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{1, 9, 6, 2}, true, false), " ab");
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{9, 6}, false, false), "ab");
}

TEST(SpmTiny, NoByteTokensAndNoUnknownIsAnError) {
  Vocab vocab = merge_vocab(1, 1);
  vocab.unk = -1;
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(std::move(vocab));
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(tokenizer.status().message().find("no byte token <0x00>"), std::string::npos)
      << tokenizer.status().message();
  EXPECT_NE(tokenizer.status().message().find("SentencePiece tokenizer for 'llama'"),
            std::string::npos)
      << tokenizer.status().message();
}

TEST(SpmTiny, ByteTokensWithoutUnknown) {
  // All 256 byte tokens, no <unk>: fine, and unknown characters become their bytes.
  std::vector<std::tuple<std::string, TokenType, float>> entries = {
      {"x", kN, 0}, {"<s>", TokenType::kControl, 0}, {"</s>", TokenType::kControl, 0}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    entries.emplace_back(name, TokenType::kByte, 0);
  }
  Vocab vocab = make_vocab(entries);
  vocab.unk = -1;
  const auto tokenizer = make(std::move(vocab));
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->encode("x\xC3\xA9", false, false),
            (std::vector<TokenId>{0, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{0, 3 + 0xC3, 3 + 0xA9}, false, false),
            "x\xC3\xA9");
}

}  // namespace
}  // namespace quire::engine
