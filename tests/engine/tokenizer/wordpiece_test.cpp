// WordPiece tokenizer against llama.cpp: the tokens.jsonl goldens of bert-tiny (8,192-token vocab)
// and of the full bge vocab, llama.cpp's own .inp/.out cases, edge cases (empty, whitespace,
// very long, invalid UTF-8), Vocab::from_gguf's errors on hand-built files, and throughput.
#include "engine/tokenizer/wordpiece.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_writer.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/support/test_support.h"
#include "tests/support/tokenizer_goldens.h"

namespace quire::engine {
namespace {

using gguf::Array;
using gguf::GgufFile;
using gguf::GgufWriter;
using nlohmann::json;
using test::check_inp_out;
using test::check_tokens_jsonl;
using test::load_tokenizer;

// Loaded once per file: the full bge vocab takes a few milliseconds to index.
const Tokenizer* bge() {
  static const std::unique_ptr<Tokenizer> tokenizer =
      load_tokenizer(test::conformance_path("vocab/ggml-vocab-bert-bge.gguf"));
  return tokenizer.get();
}

TEST(WordPieceGolden, BertTinyF32) {
  QUIRE_REQUIRE_SHARED();
  const auto tokenizer = load_tokenizer(test::conformance_path("models/bert-tiny-f32.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  ASSERT_EQ(tokenizer->vocab().size(), 8192u);
  size_t lines = 0;
  const size_t passed = check_tokens_jsonl(
      *tokenizer, test::conformance_path("golden/bert-tiny-f32/tokens.jsonl"), &lines);
  EXPECT_EQ(lines, 32u);
  EXPECT_EQ(passed, lines);
  std::printf("bert-tiny-f32 tokens.jsonl: %zu/%zu lines match\n", passed, lines);
}

TEST(WordPieceGolden, VocabBertBge) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  ASSERT_EQ(bge()->vocab().size(), 30522u);
  size_t lines = 0;
  const size_t passed = check_tokens_jsonl(
      *bge(), test::conformance_path("golden/vocab-bert-bge/tokens.jsonl"), &lines);
  EXPECT_EQ(lines, 32u);
  EXPECT_EQ(passed, lines);
  std::printf("vocab-bert-bge tokens.jsonl: %zu/%zu lines match\n", passed, lines);
}

// llama.cpp's tests/test-tokenizer-0 data: cases separated by "\n__ggml_vocab_test__\n" (the file
// ends with one), expected ids one line per case, add_special = parse_special = false.
TEST(WordPieceGolden, LlamaCppInpOut) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  check_inp_out(*bge(), "ggml-vocab-bert-bge.gguf");
}

// ---- edge cases on the full vocab ----

TEST(WordPieceEdge, EmptyText) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  EXPECT_EQ(bge()->encode("", false, false), std::vector<TokenId>{});
  EXPECT_EQ(bge()->encode("", true, true), (std::vector<TokenId>{101, 102}));
  EXPECT_EQ(bge()->decode(std::vector<TokenId>{}, true, true), "");
}

TEST(WordPieceEdge, OnlySpacesAndControlCharacters) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  // Tab, LF, CR, VT, FF, NEL, NBSP, ideographic space, line separator (all White_Space); NUL,
  // U+0001, DEL, U+001F (Cc); ZWSP, ZWJ, BOM, soft hyphen (Cf); private use U+E000 (Co).
  const std::string text = std::string(" \t\n\r\v\f\xC2\x85\xC2\xA0\xE3\x80\x80\xE2\x80\xA8") +
                           std::string("\0\x01\x7F\x1F", 4) +
                           "\xE2\x80\x8B\xE2\x80\x8D\xEF\xBB\xBF\xC2\xAD\xEE\x80\x80  ";
  EXPECT_EQ(bge()->encode(text, false, false), std::vector<TokenId>{});
  EXPECT_EQ(bge()->encode(text, true, false), (std::vector<TokenId>{101, 102}));
  // Dropped characters do not split words; White_Space does.
  EXPECT_EQ(bge()->encode("hel\xE2\x80\x8Blo", false, false), bge()->encode("hello", false, false));
  EXPECT_EQ(bge()->encode("hello\xC2\xA0world", false, false), (std::vector<TokenId>{7592, 2088}));
}

TEST(WordPieceEdge, VeryLongText) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  // 100,000 characters of ordinary text: each repetition tokenizes the same way.
  const std::string unit = "The quick brown fox jumps over the lazy dog. ";
  const auto unit_ids = bge()->encode(unit, false, false);
  std::string text;
  while (text.size() + unit.size() <= 100000) text += unit;
  const size_t repeats = text.size() / unit.size();
  text.resize(100000, 'x');
  const auto ids = bge()->encode(text, false, false);
  ASSERT_GE(ids.size(), repeats * unit_ids.size());
  for (size_t r = 0; r < repeats; ++r) {
    ASSERT_TRUE(std::equal(unit_ids.begin(), unit_ids.end(), ids.begin() + r * unit_ids.size()))
        << "repeat " << r;
  }

  // One 100,000-letter word: "▁aaa", then the longest continuation "aa" as often as it fits,
  // then "a" (the shape of golden line 24).
  const auto word_ids = bge()->encode(std::string(100000, 'a'), false, false);
  ASSERT_EQ(word_ids.size(), 1u + 49998u + 1u);
  EXPECT_EQ(word_ids.front(), 13360);
  EXPECT_EQ(word_ids[1], 11057);
  EXPECT_EQ(word_ids[49998], 11057);
  EXPECT_EQ(word_ids.back(), 2050);
  EXPECT_EQ(bge()->decode(word_ids, false, false), " " + std::string(100000, 'a'));
}

TEST(WordPieceEdge, InvalidUtf8BytesAreDropped) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  const auto ids = [](std::string_view text) { return bge()->encode(text, false, false); };
  // Each byte that does not start a valid sequence becomes U+FFFD, which BERT drops.
  const std::string invalid_ff = "\xFF";
  EXPECT_EQ(ids("ab" + invalid_ff + "cd"), ids("abcd"));
  EXPECT_EQ(ids("hello \xFF\xFE world"), ids("hello world"));
  EXPECT_EQ(ids("caf\xC3"), ids("caf"));                            // truncated 2-byte sequence
  EXPECT_EQ(ids("\xE2\x96 x"), ids("x"));                           // truncated 3-byte sequence
  EXPECT_EQ(ids("\xC3\x28"), ids("("));                             // bad continuation byte
  EXPECT_EQ(ids(std::string("\xC1\x81") + "b"), ids("b"));          // overlong 'A'
  EXPECT_EQ(ids(std::string("\xED\xA0\x80") + "b"), ids("b"));      // UTF-16 surrogate
  EXPECT_EQ(ids(std::string("\xF4\x90\x80\x80") + "b"), ids("b"));  // beyond U+10FFFF
  EXPECT_EQ(ids("\x80\x80\x80"), std::vector<TokenId>{});           // lone continuation bytes
  EXPECT_EQ(ids("\xEF\xBF\xBD"), std::vector<TokenId>{});           // a real U+FFFD is dropped too
  // Every byte value alone and in pairs: no crash, and special tokens only at the ends.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 7) {
      const char bytes[2] = {static_cast<char>(a), static_cast<char>(b)};
      const auto got = bge()->encode(std::string_view(bytes, 2), true, true);
      ASSERT_GE(got.size(), 2u);
      for (size_t i = 1; i + 1 < got.size(); ++i) {
        ASSERT_TRUE(got[i] > 103 || got[i] == 100) << a << " " << b;
      }
    }
  }
}

TEST(WordPieceEdge, NormalizationFollowsLlamaCpp) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  const auto ids = [](std::string_view text) { return bge()->encode(text, false, false); };
  // Precomposed letters lose their accents; the uncased vocab lowercases.
  EXPECT_EQ(ids("CAFÉ Ångström"), ids("cafe angstrom"));
  // A combining mark that is already separate stays, and the word becomes [UNK].
  EXPECT_EQ(ids("e\xCC\x81"), std::vector<TokenId>{100});
  // CJK ideographs are words of their own; kana are not.
  EXPECT_EQ(ids("世界"), ids("世 界"));
  EXPECT_NE(ids("こんにちは"), ids("こ ん に ち は"));
  // ASCII symbols split words, other symbols do not.
  EXPECT_EQ(ids("a+b"), ids("a + b"));
  EXPECT_EQ(ids("x²").size(), 2u);
  EXPECT_EQ(ids("x²"), (std::vector<TokenId>{1060, 10701}));
}

TEST(WordPieceEdge, TokenToPieceAndDecodeOfBadIds) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  EXPECT_EQ(bge()->token_to_piece(-1, true), "");
  EXPECT_EQ(bge()->token_to_piece(30522, true), "");
  EXPECT_EQ(bge()->token_to_piece(101, false), "");
  EXPECT_EQ(bge()->token_to_piece(101, true), "[CLS]");
  EXPECT_EQ(bge()->token_to_piece(7592, false), " hello");
  EXPECT_EQ(bge()->token_to_piece(2015, false), "s");
  const std::vector<TokenId> ids = {101, 7592, -5, 99999, 2088, 102};
  EXPECT_EQ(bge()->decode(ids, true, false), " hello world");
  EXPECT_EQ(bge()->decode(ids, false, true), "[CLS] hello world[SEP]");
}

// ---- hand-built vocabularies ----

// Ids: 0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP] (control), 4 ▁un, 5 ▁unaff, 6 able, 7 aff, 8 ▁it,
// 9 ', 10 s, 11 ▁', 12 ▁., 13 <tag> (user-defined), 14 ▁hi, 15 ▁s.
struct TinyVocab {
  std::vector<std::string> tokens = {"[PAD]",
                                     "[UNK]",
                                     "[CLS]",
                                     "[SEP]",
                                     "\xE2\x96\x81un",
                                     "\xE2\x96\x81unaff",
                                     "able",
                                     "aff",
                                     "\xE2\x96\x81it",
                                     "'",
                                     "s",
                                     "\xE2\x96\x81'",
                                     "\xE2\x96\x81.",
                                     "<tag>",
                                     "\xE2\x96\x81hi",
                                     "\xE2\x96\x81s"};
  std::vector<int32_t> types = {3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 1};
};

std::vector<uint8_t> build_gguf(const std::function<void(GgufWriter&)>& edit) {
  TinyVocab v;
  GgufWriter writer;
  writer.set("general.architecture", "bert");
  writer.set("tokenizer.ggml.model", "bert");
  writer.set("tokenizer.ggml.tokens", Array::of_strings(v.tokens));
  writer.set("tokenizer.ggml.token_type", Array::of(v.types));
  writer.set("tokenizer.ggml.unknown_token_id", uint32_t{1});
  writer.set("tokenizer.ggml.cls_token_id", uint32_t{2});
  writer.set("tokenizer.ggml.seperator_token_id", uint32_t{3});
  writer.set("tokenizer.ggml.padding_token_id", uint32_t{0});
  edit(writer);
  Result<std::vector<uint8_t>> bytes = writer.to_bytes();
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  return bytes.ok() ? std::move(bytes).value() : std::vector<uint8_t>{};
}

Result<Vocab> vocab_from(const std::function<void(GgufWriter&)>& edit) {
  const std::vector<uint8_t> bytes = build_gguf(edit);
  QUIRE_ASSIGN_OR_RETURN(GgufFile file, GgufFile::parse(bytes, "tiny.gguf"));
  return Vocab::from_gguf(file);
}

std::unique_ptr<Tokenizer> tiny_tokenizer() {
  Result<Vocab> vocab = vocab_from([](GgufWriter&) {});
  EXPECT_TRUE(vocab.ok()) << vocab.status().to_string();
  if (!vocab.ok()) return nullptr;
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(std::move(vocab).value());
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  return tokenizer.ok() ? std::move(tokenizer).value() : nullptr;
}

TEST(WordPieceTiny, VocabFieldsAndModelDefaults) {
  Result<Vocab> vocab = vocab_from([](GgufWriter&) {});
  ASSERT_TRUE(vocab.ok()) << vocab.status().to_string();
  EXPECT_EQ(vocab->model, "bert");
  EXPECT_EQ(vocab->unk, 1);
  EXPECT_EQ(vocab->cls, 2);
  EXPECT_EQ(vocab->sep, 3);
  EXPECT_EQ(vocab->pad, 0);
  // bert's llama.cpp defaults for absent keys: mask 103 lies outside 16 tokens; bos follows cls.
  EXPECT_EQ(vocab->bos, 2);
  EXPECT_EQ(vocab->mask, -1);
  EXPECT_EQ(vocab->eos, -1);
  EXPECT_TRUE(vocab->scores.empty());
  EXPECT_FALSE(vocab->add_space_prefix);
  EXPECT_TRUE(vocab->clean_spaces);
  EXPECT_TRUE(vocab->is_special(1));
  EXPECT_TRUE(vocab->is_special(2));
  EXPECT_FALSE(vocab->is_special(4));
  EXPECT_FALSE(vocab->is_special(13));  // user-defined
  EXPECT_FALSE(vocab->is_special(-1));
  EXPECT_FALSE(vocab->is_special(16));
  EXPECT_EQ(vocab->index.at("able"), 6);
}

TEST(WordPieceTiny, GreedyLongestMatchAndWordLevelUnk) {
  const auto tokenizer = tiny_tokenizer();
  ASSERT_NE(tokenizer, nullptr);
  // "▁unaff" is longer than "▁un", so "unaffable" = ▁unaff + able.
  EXPECT_EQ(tokenizer->encode("unaffable", false, false), (std::vector<TokenId>{5, 6}));
  // Greedy, no backtracking: "▁unaff" + "s"... fails at "x", so the whole word is [UNK].
  EXPECT_EQ(tokenizer->encode("unaffx it", false, false), (std::vector<TokenId>{1, 8}));
  EXPECT_EQ(tokenizer->encode("UNAFF", true, false), (std::vector<TokenId>{2, 5, 3}));
  // Punctuation is a word of its own: "it's." = ▁it ▁' ▁s ▁.
  EXPECT_EQ(tokenizer->encode("it's.", false, false), (std::vector<TokenId>{8, 11, 15, 12}));
}

TEST(WordPieceTiny, SpecialTokenText) {
  const auto tokenizer = tiny_tokenizer();
  ASSERT_NE(tokenizer, nullptr);
  // Control tokens are parsed only with parse_special; "[" is punctuation otherwise -> [UNK]s.
  EXPECT_EQ(tokenizer->encode("hi[SEP]hi", false, true), (std::vector<TokenId>{14, 3, 14}));
  EXPECT_EQ(tokenizer->encode("[SEP]", false, false), (std::vector<TokenId>{1, 1, 1}));
  // User-defined tokens are split out even without parse_special.
  EXPECT_EQ(tokenizer->encode("hi<tag>hi", false, false), (std::vector<TokenId>{14, 13, 14}));
  EXPECT_EQ(tokenizer->token_to_piece(13, false), "<tag>");
  EXPECT_EQ(tokenizer->token_to_piece(3, false), "");
  EXPECT_EQ(tokenizer->token_to_piece(3, true), "[SEP]");
}

TEST(WordPieceTiny, DecodeCleansSpacesLikeLlamaCpp) {
  const auto tokenizer = tiny_tokenizer();
  ASSERT_NE(tokenizer, nullptr);
  // " it ' s ." -> " it's."
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{8, 11, 15, 12}, false, false), " it's.");
  // " it ' ' ' hi": the first and third apostrophes take both their spaces; the second, whose
  // space before was taken, keeps its own (as golden line 18's "- - -'''" shows).
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{8, 11, 11, 11, 14}, false, false), " it'''hi");
  // " 's" after a space loses the space: " hi 's" -> " hi's".
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{14, 11, 10}, false, false), " hi's");
}

TEST(WordPieceTiny, FactoryTable) {
  for (const char* model : {"rwkv", "t5"}) {
    Result<Vocab> vocab = vocab_from([&](GgufWriter& w) { w.set("tokenizer.ggml.model", model); });
    ASSERT_TRUE(vocab.ok()) << vocab.status().to_string();
    Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(std::move(vocab).value());
    ASSERT_FALSE(tokenizer.ok());
    EXPECT_EQ(tokenizer.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(tokenizer.status().message().find(model), std::string::npos)
        << tokenizer.status().message();
    EXPECT_NE(tokenizer.status().message().find("implemented: bert, llama, gpt2"),
              std::string::npos)
        << tokenizer.status().message();
  }
}

TEST(WordPieceTiny, MissingUnknownTokenIsAnError) {
  Result<Vocab> vocab = vocab_from([](GgufWriter& w) {
    w.remove("tokenizer.ggml.unknown_token_id");
    std::vector<std::string> tokens = TinyVocab().tokens;
    tokens.resize(50, "x");  // beyond 16 tokens, but still short of bert's default unk 100
    std::vector<int32_t> types = TinyVocab().types;
    types.resize(50, 1);
    w.set("tokenizer.ggml.tokens", Array::of_strings(tokens));
    w.set("tokenizer.ggml.token_type", Array::of(types));
  });
  ASSERT_TRUE(vocab.ok()) << vocab.status().to_string();
  EXPECT_EQ(vocab->unk, -1);
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(std::move(vocab).value());
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(tokenizer.status().message().find("unknown_token_id"), std::string::npos);
}

struct BadVocabCase {
  const char* name;
  std::function<void(GgufWriter&)> edit;
  StatusCode code;
  const char* message;  // a substring of the error message
};

TEST(VocabFromGguf, RejectsBadFiles) {
  const std::vector<BadVocabCase> cases = {
      {"token_type shorter",
       [](GgufWriter& w) {
         w.set("tokenizer.ggml.token_type", Array::of(std::vector<int32_t>{3, 3, 1}));
       },
       StatusCode::kDataLoss, "tokenizer.ggml.token_type: 3 entries, expected 16"},
      {"scores longer",
       [](GgufWriter& w) {
         w.set("tokenizer.ggml.scores", Array::of(std::vector<float>(17, 0.0f)));
       },
       StatusCode::kDataLoss, "tokenizer.ggml.scores: 17 entries, expected 16"},
      {"unknown id out of range",
       [](GgufWriter& w) { w.set("tokenizer.ggml.unknown_token_id", uint32_t{16}); },
       StatusCode::kDataLoss,
       "tokenizer.ggml.unknown_token_id: token id 16 out of range, vocabulary has 16 tokens"},
      {"separator id out of range",
       [](GgufWriter& w) { w.set("tokenizer.ggml.seperator_token_id", uint32_t{4000000000u}); },
       StatusCode::kDataLoss, "tokenizer.ggml.seperator_token_id: token id 4000000000"},
      {"eos id beyond int64",
       [](GgufWriter& w) { w.set("tokenizer.ggml.eos_token_id", uint64_t{1} << 63); },
       StatusCode::kDataLoss, "tokenizer.ggml.eos_token_id: token id 9223372036854775808 out"},
      {"negative cls id", [](GgufWriter& w) { w.set("tokenizer.ggml.cls_token_id", int32_t{-1}); },
       StatusCode::kDataLoss, "tokenizer.ggml.cls_token_id: token id -1 out of range"},
      {"bos id of wrong type", [](GgufWriter& w) { w.set("tokenizer.ggml.bos_token_id", "101"); },
       StatusCode::kDataLoss, "tokenizer.ggml.bos_token_id: expected an integer, got STRING"},
      {"token type value",
       [](GgufWriter& w) {
         std::vector<int32_t> types = TinyVocab().types;
         types[7] = 9;
         w.set("tokenizer.ggml.token_type", Array::of(types));
       },
       StatusCode::kDataLoss, "tokenizer.ggml.token_type[7]: token type 9, expected 0..6"},
      {"tokens not strings",
       [](GgufWriter& w) {
         w.set("tokenizer.ggml.tokens", Array::of(std::vector<int32_t>{1, 2}));
       },
       StatusCode::kDataLoss,
       "tokenizer.ggml.tokens: expected ARRAY of STRING, got ARRAY of INT32"},
      {"empty vocabulary",
       [](GgufWriter& w) { w.set("tokenizer.ggml.tokens", Array::of_strings({})); },
       StatusCode::kDataLoss, "tokenizer.ggml.tokens: empty vocabulary"},
      {"no tokens", [](GgufWriter& w) { w.remove("tokenizer.ggml.tokens"); }, StatusCode::kNotFound,
       "tokenizer.ggml.tokens: key not found"},
      {"no model", [](GgufWriter& w) { w.remove("tokenizer.ggml.model"); }, StatusCode::kNotFound,
       "tokenizer.ggml.model: key not found"},
      {"add_bos not bool",
       [](GgufWriter& w) { w.set("tokenizer.ggml.add_bos_token", uint32_t{1}); },
       StatusCode::kDataLoss, "tokenizer.ggml.add_bos_token: expected BOOL, got UINT32"},
      {"merges not strings",
       [](GgufWriter& w) { w.set("tokenizer.ggml.merges", Array::of(std::vector<float>{1.0f})); },
       StatusCode::kDataLoss, "tokenizer.ggml.merges: expected ARRAY of STRING"},
  };
  for (const BadVocabCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<Vocab> vocab = vocab_from(c.edit);
    ASSERT_FALSE(vocab.ok());
    EXPECT_EQ(vocab.status().code(), c.code) << vocab.status().to_string();
    EXPECT_NE(vocab.status().message().find(c.message), std::string::npos)
        << vocab.status().message();
  }
}

TEST(VocabFromGguf, ErrorsThroughMakeTokenizerNameTheFile) {
  const std::vector<uint8_t> bytes =
      build_gguf([](GgufWriter& w) { w.set("tokenizer.ggml.mask_token_id", uint32_t{99}); });
  Result<GgufFile> file = GgufFile::parse(bytes, "tiny.gguf");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(*file);
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(tokenizer.status().message(),
            "tiny.gguf: tokenizer.ggml.mask_token_id: token id 99 out of range, vocabulary has "
            "16 tokens");
}

// ---- throughput ----

TEST(WordPieceSpeed, ThousandSciFactAbstracts) {
  QUIRE_REQUIRE_SHARED();
  ASSERT_NE(bge(), nullptr);
  std::ifstream in(test::shared_dir() + "/data/scifact/corpus.jsonl");
  if (!in.good()) GTEST_SKIP() << "data/scifact/corpus.jsonl not found";
  std::vector<std::string> abstracts;
  size_t bytes = 0;
  for (std::string line; abstracts.size() < 1000 && std::getline(in, line);) {
    abstracts.push_back(json::parse(line).at("text").get<std::string>());
    bytes += abstracts.back().size();
  }
  ASSERT_EQ(abstracts.size(), 1000u);

  size_t n_tokens = 0, n_unk = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& text : abstracts) {
    const auto ids = bge()->encode(text, true, false);
    n_tokens += ids.size();
    n_unk += static_cast<size_t>(std::count(ids.begin(), ids.end(), bge()->vocab().unk));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("1000 SciFact abstracts: %zu bytes, %zu tokens (%zu [UNK]) in %.1f ms (%.1f MB/s)\n",
              bytes, n_tokens, n_unk, seconds * 1e3, bytes / seconds / 1e6);
  // English prose: [UNK] is rare, and ~1 token per 4-6 bytes.
  EXPECT_LT(n_unk * 200, n_tokens);
  EXPECT_GT(n_tokens * 8, bytes);
  // The target is well under a second; the bound leaves room for sanitizer builds and a busy
  // shared machine.
  EXPECT_LT(seconds, 5.0);
}

}  // namespace
}  // namespace quire::engine
