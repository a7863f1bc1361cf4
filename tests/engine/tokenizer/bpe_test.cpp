// Byte-level BPE tokenizer against llama.cpp: the tokens.jsonl goldens of qwen2-tiny (8,192-token
// GPT-2 vocab) and of the full gpt-2, qwen2 and starcoder vocabs, llama.cpp's .inp/.out cases,
// load time, edge cases (invalid UTF-8, long words, threads), and hand-built vocabularies for
// the merge order, ignore_merges, the byte fallback and the errors.
#include "engine/tokenizer/bpe.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <thread>

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

// The full vocabularies, loaded once per process.
const Tokenizer* full_vocab(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end()) {
    it = loaded
             .emplace(name,
                      load_tokenizer(test::conformance_path("vocab/ggml-vocab-" + name + ".gguf")))
             .first;
  }
  return it->second.get();
}

TEST(BpeGolden, Qwen2TinyF32) {
  QUIRE_REQUIRE_SHARED();
  const auto tokenizer = load_tokenizer(test::conformance_path("models/qwen2-tiny-f32.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  ASSERT_EQ(tokenizer->vocab().size(), 8192u);
  EXPECT_EQ(tokenizer->vocab().pre, "gpt-2");
  EXPECT_FALSE(tokenizer->vocab().add_bos);
  EXPECT_TRUE(tokenizer->vocab().clean_spaces);
  EXPECT_EQ(tokenizer->vocab().bos, 8191);
  size_t lines = 0;
  const size_t passed = check_tokens_jsonl(
      *tokenizer, test::conformance_path("golden/qwen2-tiny-f32/tokens.jsonl"), &lines);
  EXPECT_EQ(lines, 32u);
  EXPECT_EQ(passed, lines);
  std::printf("qwen2-tiny-f32 tokens.jsonl: %zu/%zu lines match\n", passed, lines);
}

class BpeFullVocab : public ::testing::TestWithParam<const char*> {};

TEST_P(BpeFullVocab, TokensJsonl) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* tokenizer = full_vocab(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  size_t lines = 0;
  const size_t passed = check_tokens_jsonl(
      *tokenizer,
      test::conformance_path(std::string("golden/vocab-") + GetParam() + "/tokens.jsonl"), &lines);
  EXPECT_EQ(lines, 32u);
  EXPECT_EQ(passed, lines);
  std::printf("vocab-%s tokens.jsonl: %zu/%zu lines match\n", GetParam(), passed, lines);
}

// llama.cpp's tests/test-tokenizer-0 data: cases separated by "\n__ggml_vocab_test__\n" (the file
// ends with one), expected ids one line per case, add_special = parse_special = false.
TEST_P(BpeFullVocab, LlamaCppInpOut) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* tokenizer = full_vocab(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  check_inp_out(*tokenizer, std::string("ggml-vocab-") + GetParam() + ".gguf");
}

INSTANTIATE_TEST_SUITE_P(Vocabs, BpeFullVocab, ::testing::Values("gpt-2", "qwen2", "starcoder"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::erase(name, '-');
                           return name;
                         });

TEST(BpeFullVocabFacts, PreTokenizerDefaultsPerVocab) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* qwen2 = full_vocab("qwen2");
  const Tokenizer* starcoder = full_vocab("starcoder");
  ASSERT_NE(qwen2, nullptr);
  ASSERT_NE(starcoder, nullptr);
  const auto& qwen2_bpe = dynamic_cast<const BpeTokenizer&>(*qwen2);
  EXPECT_EQ(qwen2_bpe.pre_tokenizer().kind, PreTokenizerKind::kQwen2);
  EXPECT_FALSE(qwen2->vocab().clean_spaces);  // llama.cpp turns clean_spaces off for qwen2
  EXPECT_FALSE(qwen2->vocab().add_bos);
  EXPECT_EQ(qwen2->vocab().size(), 151936u);
  EXPECT_EQ(dynamic_cast<const BpeTokenizer&>(*starcoder).pre_tokenizer().kind,
            PreTokenizerKind::kStarcoder);
  EXPECT_TRUE(starcoder->vocab().clean_spaces);
  // Unused [PAD...] tokens render as nothing; control tokens only when special.
  EXPECT_EQ(qwen2->token_to_piece(151646, true), "");
  EXPECT_EQ(qwen2->token_to_piece(151645, false), "");
  EXPECT_EQ(qwen2->token_to_piece(151645, true), "<|im_end|>");
  EXPECT_EQ(qwen2->token_to_piece(-1, true), "");
  EXPECT_EQ(qwen2->token_to_piece(151936, true), "");
}

// ---- load time and speed ----

TEST(BpeSpeed, Qwen2VocabLoadsWellUnderASecond) {
  QUIRE_REQUIRE_SHARED();
  Result<GgufFile> file = GgufFile::open(test::conformance_path("vocab/ggml-vocab-qwen2.gguf"));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  const auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(*file);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  std::printf("ggml-vocab-qwen2: 151,936 tokens, 151,387 merges loaded in %.1f ms\n",
              seconds * 1e3);
  // Target: well under a second on a release build; the bound leaves room for sanitizers and a
  // busy shared machine.
  EXPECT_LT(seconds, 3.0);
}

TEST(BpeSpeed, SciFactAbstracts) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* qwen2 = full_vocab("qwen2");
  ASSERT_NE(qwen2, nullptr);
  std::ifstream in(test::shared_dir() + "/data/scifact/corpus.jsonl");
  if (!in.good()) GTEST_SKIP() << "data/scifact/corpus.jsonl not found";
  std::vector<std::string> abstracts;
  size_t bytes = 0;
  for (std::string line; abstracts.size() < 1000 && std::getline(in, line);) {
    abstracts.push_back(json::parse(line).at("text").get<std::string>());
    bytes += abstracts.back().size();
  }
  size_t n_tokens = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& text : abstracts) {
    const auto ids = qwen2->encode(text, false, false);
    n_tokens += ids.size();
    // Byte-level BPE is lossless, and qwen2 does not clean spaces.
    ASSERT_EQ(qwen2->decode(ids, false, false), text);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%zu SciFact abstracts (qwen2): %zu bytes, %zu tokens, encode+decode %.1f ms "
      "(%.1f MB/s)\n",
      abstracts.size(), bytes, n_tokens, seconds * 1e3, bytes / seconds / 1e6);
  EXPECT_GT(n_tokens * 8, bytes);  // English prose: 4-6 bytes per token
  EXPECT_LT(n_tokens * 3, bytes);
  EXPECT_LT(seconds, 5.0);
}

// ---- edge cases on the full vocabularies ----

TEST(BpeEdge, EmptyAndWhitespaceOnly) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* gpt2 = full_vocab("gpt-2");
  ASSERT_NE(gpt2, nullptr);
  EXPECT_EQ(gpt2->encode("", true, true), std::vector<TokenId>{});
  EXPECT_EQ(gpt2->decode(std::vector<TokenId>{}, true, true), "");
  EXPECT_EQ(gpt2->decode(gpt2->encode(" \t\n\r\v\f ", false, false), false, false), " \t\n\r\v\f ");
}

TEST(BpeEdge, InvalidUtf8BecomesReplacementCharacter) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* qwen2 = full_vocab("qwen2");
  ASSERT_NE(qwen2, nullptr);
  const auto ids = [&](std::string_view text) { return qwen2->encode(text, false, false); };
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(ids("a\xFF"
                "b"),
            ids("a" + fffd + "b"));
  EXPECT_EQ(ids("caf\xC3"), ids("caf" + fffd));  // truncated sequence
  EXPECT_EQ(ids("\x80\x80"), ids(fffd + fffd));  // lone continuation bytes
  EXPECT_EQ(ids("\xC1\x81"), ids("A"));          // overlong 'A' decodes, as llama.cpp
  // Beyond U+10FFFF: the lead byte and each stray continuation byte give U+FFFD.
  EXPECT_EQ(ids("\xF4\x90\x80\x80"), ids(fffd + fffd + fffd + fffd));
  // Every byte value alone and in pairs: no crash, and the result decodes to valid text.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 5) {
      const char bytes[2] = {static_cast<char>(a), static_cast<char>(b)};
      const auto got = qwen2->encode(std::string_view(bytes, 2), true, true);
      ASSERT_FALSE(got.empty()) << a << " " << b;
      for (const TokenId id : got) ASSERT_LT(id, 151643) << a << " " << b;
    }
  }
}

TEST(BpeEdge, VeryLongWordsAndText) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* gpt2 = full_vocab("gpt-2");
  ASSERT_NE(gpt2, nullptr);
  // One 200,000-letter word: merges run in O(n log n), not O(n^2).
  const std::string word(200000, 'a');
  const auto start = std::chrono::steady_clock::now();
  const auto word_ids = gpt2->encode(word, false, false);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(gpt2->decode(word_ids, false, false), word);
  // Merged into 50,000 "aaaa" tokens.
  ASSERT_EQ(word_ids.size(), 50000u);
  EXPECT_EQ(std::count(word_ids.begin(), word_ids.end(), word_ids[0]), 50000);
  EXPECT_EQ(gpt2->token_to_piece(word_ids[0], false), "aaaa");
  EXPECT_LT(seconds, 2.0);
  std::printf("200,000-letter word: %zu tokens in %.1f ms\n", word_ids.size(), seconds * 1e3);

  // Repeated sentences tokenize the same way each time.
  const std::string unit = "The quick brown fox jumps over the lazy dog.";
  const auto unit_ids = gpt2->encode(unit, false, false);
  std::string text;
  for (int i = 0; i < 2000; ++i) text += unit;
  const auto ids = gpt2->encode(text, false, false);
  ASSERT_EQ(ids.size(), 2000 * unit_ids.size());  // "." and "The" are separate words
  for (size_t r = 0; r < 2000; ++r) {
    ASSERT_TRUE(std::equal(unit_ids.begin(), unit_ids.end(), ids.begin() + r * unit_ids.size()));
  }
}

TEST(BpeEdge, SharedAcrossThreads) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* qwen2 = full_vocab("qwen2");
  ASSERT_NE(qwen2, nullptr);
  const std::vector<std::string> texts = {"Hello world", "Zürich: café 你好 🦙!",
                                          "for i in range(10):\n    print(i * i)\n",
                                          "<|im_start|>user\nhi<|im_end|>"};
  std::vector<std::vector<TokenId>> expected;
  for (const auto& t : texts) expected.push_back(qwen2->encode(t, true, true));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const size_t k = static_cast<size_t>(i + t) % texts.size();
        if (qwen2->encode(texts[k], true, true) != expected[k]) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
  // parse_special turns the chat markers into their control ids.
  EXPECT_EQ(expected[3].front(), 151644);
  EXPECT_EQ(expected[3].back(), 151645);
}

TEST(BpeEdge, RandomUnicodeRoundTripsOnQwen2) {
  QUIRE_REQUIRE_SHARED();
  const Tokenizer* qwen2 = full_vocab("qwen2");
  ASSERT_NE(qwen2, nullptr);
  std::mt19937 rng(42);
  const std::vector<char32_t> alphabet = {'a',    'Z',     '0',    '7',    ' ',  '\n',   '\t',
                                          '\r',   '\'',    's',    '.',    '!',  0xE9,   0x4E2D,
                                          0x0660, 0x1F999, 0x200D, 0x3000, 0xA0, 0x0301, 0x2028};
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) append_utf8(text, alphabet[rng() % alphabet.size()]);
    const auto ids = qwen2->encode(text, false, false);
    ASSERT_EQ(qwen2->decode(ids, false, false), text) << "trial " << trial;
  }
}

// ---- hand-built vocabularies ----

// Ids: 0 <|endoftext|> (control), 1 a, 2 b, 3 c, 4 ab, 5 bc, 6 abc, 7 Ġ, 8 Ġa, 9 <tag>
// (user-defined), 10 <|im_end|> (normal in the file), 11 x, 12 xx, 13 d, 14 [UNUSED] (unused),
// 15 "Ã©" (é's bytes C3 A9 in the byte alphabet), 16 "ĠĠ".
struct TinyBpe {
  std::vector<std::string> tokens = {"<|endoftext|>",
                                     "a",
                                     "b",
                                     "c",
                                     "ab",
                                     "bc",
                                     "abc",
                                     "\xC4\xA0",
                                     "\xC4\xA0"
                                     "a",
                                     "<tag>",
                                     "<|im_end|>",
                                     "x",
                                     "xx",
                                     "d",
                                     "[UNUSED]",
                                     "\xC3\x83\xC2\xA9",
                                     "\xC4\xA0\xC4\xA0"};
  std::vector<int32_t> types = {3, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 5, 1, 1};
  // "b c" ranks before "a b": "abc" = a + bc, not ab + c.
  std::vector<std::string> merges = {"b c", "a b", "a bc", "\xC4\xA0 a",
                                     "x x", "d d", "a b",  "\xC3\x83 \xC2\xA9"};
};

std::vector<uint8_t> build_gguf(const std::function<void(GgufWriter&)>& edit) {
  TinyBpe v;
  GgufWriter writer;
  writer.set("general.architecture", "gpt2");
  writer.set("tokenizer.ggml.model", "gpt2");
  writer.set("tokenizer.ggml.pre", "gpt-2");
  writer.set("tokenizer.ggml.tokens", Array::of_strings(v.tokens));
  writer.set("tokenizer.ggml.token_type", Array::of(v.types));
  writer.set("tokenizer.ggml.merges", Array::of_strings(v.merges));
  writer.set("tokenizer.ggml.bos_token_id", uint32_t{0});
  writer.set("tokenizer.ggml.eos_token_id", uint32_t{0});
  edit(writer);
  Result<std::vector<uint8_t>> bytes = writer.to_bytes();
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  return bytes.ok() ? std::move(bytes).value() : std::vector<uint8_t>{};
}

Result<std::unique_ptr<Tokenizer>> tiny(const std::function<void(GgufWriter&)>& edit) {
  const std::vector<uint8_t> bytes = build_gguf(edit);
  QUIRE_ASSIGN_OR_RETURN(GgufFile file, GgufFile::parse(bytes, "tiny-bpe.gguf"));
  return make_tokenizer(file);
}

std::unique_ptr<Tokenizer> tiny_ok(const std::function<void(GgufWriter&)>& edit = {}) {
  Result<std::unique_ptr<Tokenizer>> t = tiny(edit ? edit : [](GgufWriter&) {});
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(t).value() : nullptr;
}

using Ids = std::vector<TokenId>;

TEST(BpeTiny, LowestRankMergesFirst) {
  const auto t = tiny_ok();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->encode("abc", false, false), Ids{6});  // b+c (rank 0), then a+bc (rank 2)
  EXPECT_EQ(t->encode("ab", false, false), Ids{4});
  EXPECT_EQ(t->encode("cab", false, false), (Ids{3, 4}));
  // " a" = Ġ + a (rank 3); "  a" = "Ġ" then "Ġa" (the space run leaves its last space).
  EXPECT_EQ(t->encode(" a", false, false), Ids{8});
  EXPECT_EQ(t->encode("  a", false, false), (Ids{7, 8}));
}

TEST(BpeTiny, TiesGoToTheLeftmostPair) {
  const auto t = tiny_ok();
  ASSERT_NE(t, nullptr);
  // "xxx": two candidate x+x pairs of equal rank; the left one merges, leaving "xx" "x".
  EXPECT_EQ(t->encode("xxx", false, false), (Ids{12, 11}));
  EXPECT_EQ(t->encode("xxxx", false, false), (Ids{12, 12}));
}

TEST(BpeTiny, SymbolsThatAreNotTokensFallBackToSingleBytes) {
  const auto t = tiny_ok();
  ASSERT_NE(t, nullptr);
  // "dd" merges (rank 5) but is no token: its bytes are looked up alone -> d d.
  EXPECT_EQ(t->encode("dd", false, false), (Ids{13, 13}));
  // "é" is one token (15). "e" is in no token and in no merge: dropped, as llama.cpp does.
  EXPECT_EQ(t->encode("\xC3\xA9", false, false), Ids{15});
  EXPECT_EQ(t->encode("e", false, false), Ids{});
}

TEST(BpeTiny, SpecialTokensAndPieces) {
  const auto t = tiny_ok();
  ASSERT_NE(t, nullptr);
  // Control text only with parse_special; user-defined always.
  EXPECT_EQ(t->encode("a<|endoftext|>b", false, true), (Ids{1, 0, 2}));
  EXPECT_EQ(t->encode("a<tag>b", false, false), (Ids{1, 9, 2}));
  // No add_bos for gpt2 by default: add_special adds nothing.
  EXPECT_EQ(t->encode("ab", true, false), Ids{4});
  EXPECT_EQ(t->token_to_piece(8, false), " a");
  EXPECT_EQ(t->token_to_piece(15, false), "\xC3\xA9");
  EXPECT_EQ(t->token_to_piece(0, false), "");
  EXPECT_EQ(t->token_to_piece(0, true), "<|endoftext|>");
  EXPECT_EQ(t->token_to_piece(9, false), "<tag>");
  EXPECT_EQ(t->token_to_piece(14, true), "");  // unused
  // "<|im_end|>" is NORMAL in the file but an end-of-generation spelling: made CONTROL.
  EXPECT_EQ(t->vocab().types[10], TokenType::kControl);
  EXPECT_EQ(t->token_to_piece(10, false), "");
  EXPECT_EQ(t->encode("<|im_end|>", false, true), Ids{10});
  EXPECT_EQ(t->decode(Ids{1, 0, 8}, false, true), "a<|endoftext|> a");
}

TEST(BpeTiny, TokenTextOutsideTheByteAlphabet) {
  const auto t = tiny_ok([](GgufWriter& w) {
    TinyBpe v;
    v.tokens[13] = "d\xE2\x82\xAC";  // "d€": U+20AC is no byte's character
    w.set("tokenizer.ggml.tokens", Array::of_strings(v.tokens));
  });
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->token_to_piece(13, false), "d[UNK_BYTE_0xe282acd\xE2\x82\xAC]");
}

TEST(BpeTiny, Llama3IgnoresMergesForWholeWordTokensAndAddsBos) {
  // With merges "a b" only, "abc" would be ab + c; llama3 takes the whole-word token 6.
  const auto edit = [](GgufWriter& w) {
    w.set("tokenizer.ggml.pre", "llama-bpe");
    w.set("tokenizer.ggml.merges", Array::of_strings({"a b"}));
  };
  const auto llama3 = tiny_ok(edit);
  ASSERT_NE(llama3, nullptr);
  EXPECT_TRUE(llama3->vocab().add_bos);
  EXPECT_EQ(llama3->encode("abc", false, false), Ids{6});
  EXPECT_EQ(llama3->encode("abc", true, false), (Ids{0, 6}));
  EXPECT_EQ(llama3->decode(Ids{0, 6}, true, false), "abc");  // BOS removed

  const auto gpt2 =
      tiny_ok([](GgufWriter& w) { w.set("tokenizer.ggml.merges", Array::of_strings({"a b"})); });
  ASSERT_NE(gpt2, nullptr);
  EXPECT_EQ(gpt2->encode("abc", false, false), (Ids{4, 3}));

  // The file's add_bos_token wins over the pre-tokenizer's default.
  const auto no_bos = tiny_ok([&](GgufWriter& w) {
    edit(w);
    w.set("tokenizer.ggml.add_bos_token", false);
  });
  ASSERT_NE(no_bos, nullptr);
  EXPECT_EQ(no_bos->encode("abc", true, false), Ids{6});
}

TEST(BpeTiny, DuplicateMergesKeepTheirFirstRank) {
  // "a b" listed again last, and "x x" first: x+x (rank 0) beats the first "a b" (rank 2)...
  const auto t = tiny_ok([](GgufWriter& w) {
    w.set("tokenizer.ggml.merges", Array::of_strings({"x x", "b c", "a b", "a bc", "b c"}));
  });
  ASSERT_NE(t, nullptr);
  // ...and "b c" keeps rank 1 < "a b" rank 2, so "abc" is a + bc -> abc.
  EXPECT_EQ(t->encode("abc", false, false), Ids{6});
  // Lines without a space are ignored but keep their slot.
  const auto odd = tiny_ok([](GgufWriter& w) {
    w.set("tokenizer.ggml.merges", Array::of_strings({"ab", "a b", "b c"}));
  });
  ASSERT_NE(odd, nullptr);
  EXPECT_EQ(odd->encode("abc", false, false), (Ids{4, 3}));
}

TEST(BpeTiny, CleanSpacesFollowsThePreTokenizer) {
  const auto gpt2 = tiny_ok();
  ASSERT_NE(gpt2, nullptr);
  EXPECT_TRUE(gpt2->vocab().clean_spaces);
  const auto qwen2 = tiny_ok([](GgufWriter& w) { w.set("tokenizer.ggml.pre", "qwen2"); });
  ASSERT_NE(qwen2, nullptr);
  EXPECT_FALSE(qwen2->vocab().clean_spaces);
  const auto smollm = tiny_ok([](GgufWriter& w) { w.set("tokenizer.ggml.pre", "smollm"); });
  ASSERT_NE(smollm, nullptr);
  EXPECT_FALSE(smollm->vocab().clean_spaces);
  // No pre key: llama.cpp's "default".
  const auto none = tiny_ok([](GgufWriter& w) { w.remove("tokenizer.ggml.pre"); });
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(dynamic_cast<const BpeTokenizer&>(*none).pre_tokenizer().kind,
            PreTokenizerKind::kDefault);
}

TEST(BpeTiny, Errors) {
  Result<std::unique_ptr<Tokenizer>> unknown =
      tiny([](GgufWriter& w) { w.set("tokenizer.ggml.pre", "deepseek-llm"); });
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(unknown.status().message().find("tokenizer.ggml.pre 'deepseek-llm'"), std::string::npos)
      << unknown.status().message();
  EXPECT_NE(unknown.status().message().find("supported: default, gpt-2"), std::string::npos)
      << unknown.status().message();
  EXPECT_NE(unknown.status().message().find("qwen2"), std::string::npos);

  Result<std::unique_ptr<Tokenizer>> no_merges =
      tiny([](GgufWriter& w) { w.remove("tokenizer.ggml.merges"); });
  ASSERT_FALSE(no_merges.ok());
  EXPECT_EQ(no_merges.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(no_merges.status().message().find("tokenizer.ggml.merges"), std::string::npos);
  EXPECT_NE(no_merges.status().message().find("tiny-bpe.gguf"), std::string::npos)
      << no_merges.status().message();
}

}  // namespace
}  // namespace quire::engine
