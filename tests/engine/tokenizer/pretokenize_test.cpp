// The BPE pre-tokenizers on inputs where llama.cpp's patterns are subtle: contractions, space
// runs before words (\s+(?!\S)), newlines, digit grouping, CJK, emoji, combining marks, invalid
// UTF-8; plus the tokenizer.ggml.pre table and the lenient UTF-8 decoder.
#include "engine/tokenizer/pretokenize.h"

#include <chrono>
#include <random>

#include <gtest/gtest.h>

namespace quire::engine {
namespace {

using Words = std::vector<std::string>;

Words gpt2(std::string_view text) {
  return pre_tokenize(PreTokenizerKind::kGpt2, text);
}
Words llama3(std::string_view text) {
  return pre_tokenize(PreTokenizerKind::kLlama3, text);
}
Words qwen2(std::string_view text) {
  return pre_tokenize(PreTokenizerKind::kQwen2, text);
}
Words starcoder(std::string_view text) {
  return pre_tokenize(PreTokenizerKind::kStarcoder, text);
}
Words default_pre(std::string_view text) {
  return pre_tokenize(PreTokenizerKind::kDefault, text);
}

constexpr PreTokenizerKind kAllKinds[] = {PreTokenizerKind::kDefault, PreTokenizerKind::kGpt2,
                                          PreTokenizerKind::kStarcoder, PreTokenizerKind::kLlama3,
                                          PreTokenizerKind::kQwen2};

TEST(PreTokenizeGpt2, WordsKeepTheirLeadingSpace) {
  EXPECT_EQ(gpt2("Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(gpt2("hi!! ?x"), (Words{"hi", "!!", " ?", "x"}));
  EXPECT_EQ(gpt2("abc 12345 x"), (Words{"abc", " 12345", " x"}));
  EXPECT_EQ(gpt2("x1"), (Words{"x", "1"}));
  EXPECT_EQ(gpt2(""), Words{});
}

TEST(PreTokenizeGpt2, ContractionsAreCaseSensitive) {
  EXPECT_EQ(gpt2("I'm you're it's they'll we've he'd can't"),
            (Words{"I", "'m", " you", "'re", " it", "'s", " they", "'ll", " we", "'ve", " he", "'d",
                   " can", "'t"}));
  // Upper case is no contraction: the apostrophe is punctuation of its own.
  EXPECT_EQ(gpt2("I'M"), (Words{"I", "'", "M"}));
  EXPECT_EQ(gpt2("'''s"), (Words{"'''", "s"}));
  EXPECT_EQ(gpt2("x'"), (Words{"x", "'"}));
}

TEST(PreTokenizeGpt2, SpaceRunsLeaveTheirLastSpaceToTheNextWord) {
  EXPECT_EQ(gpt2("a   b"), (Words{"a", "  ", " b"}));
  EXPECT_EQ(gpt2("a \n b"), (Words{"a", " \n", " b"}));
  // At the end of the text the whole run is one word; a single space before a word joins it.
  EXPECT_EQ(gpt2("a  "), (Words{"a", "  "}));
  EXPECT_EQ(gpt2(" "), (Words{" "}));
  // A single non-' ' space before a word stays alone (only ' ' is the optional prefix).
  EXPECT_EQ(gpt2("a\nb"), (Words{"a", "\n", "b"}));
  EXPECT_EQ(gpt2("a\n\nb"), (Words{"a", "\n", "\n", "b"}));
  EXPECT_EQ(gpt2("x\xC2\xA0y"), (Words{"x", "\xC2\xA0", "y"}));  // NBSP is \s
  EXPECT_EQ(gpt2("\tx"), (Words{"\t", "x"}));
}

TEST(PreTokenizeGpt2, UnicodeClasses) {
  EXPECT_EQ(gpt2("你好世界 こんにちは"), (Words{"你好世界", " こんにちは"}));  // Lo letters
  EXPECT_EQ(gpt2("🦙🦙 x"), (Words{"🦙🦙", " x"}));                    // So: "other"
  EXPECT_EQ(gpt2("e\xCC\x81"), (Words{"e", "\xCC\x81"}));                      // Mn is not \p{L}
  EXPECT_EQ(gpt2("x \xD9\xA3\xD9\xA4"), (Words{"x", " \xD9\xA3\xD9\xA4"}));    // Arabic-Indic Nd
  EXPECT_EQ(gpt2("½x"), (Words{"½", "x"}));                                    // No is \p{N}
  // ZWJ sequences: the joiner (Cf) and the emoji are all "other".
  EXPECT_EQ(gpt2("👨\xE2\x80\x8D👩!"), (Words{"👨\xE2\x80\x8D👩!"}));
}

TEST(PreTokenizeLlama3, DiffersFromGpt2) {
  // Case-insensitive contractions.
  EXPECT_EQ(llama3("I'M HERE'S"), (Words{"I", "'M", " HERE", "'S"}));
  EXPECT_EQ(llama3("WE'Ve"), (Words{"WE", "'Ve"}));
  // Digits in groups of at most three, from the left, never with a space.
  EXPECT_EQ(llama3("1234567"), (Words{"123", "456", "7"}));
  EXPECT_EQ(gpt2("1234567"), (Words{"1234567"}));
  EXPECT_EQ(llama3("x 12"), (Words{"x", " ", "12"}));
  EXPECT_EQ(gpt2("x 12"), (Words{"x", " 12"}));
  // A space run up to its last newline is one word.
  EXPECT_EQ(llama3("a\n\nb"), (Words{"a", "\n\n", "b"}));
  EXPECT_EQ(llama3("a  \n  b"), (Words{"a", "  \n", " ", " b"}));
  EXPECT_EQ(llama3("a\r\n"), (Words{"a", "\r\n"}));
  // Punctuation takes the newlines after it.
  EXPECT_EQ(llama3("x!\n\ny"), (Words{"x", "!\n\n", "y"}));
  EXPECT_EQ(gpt2("x!\n\ny"), (Words{"x", "!", "\n", "\n", "y"}));
  // Any one non-newline, non-digit code point may lead a letter run.
  EXPECT_EQ(llama3("$hello \tworld"), (Words{"$hello", " ", "\tworld"}));
  EXPECT_EQ(gpt2("$hello"), (Words{"$", "hello"}));
  EXPECT_EQ(llama3("\nhello"), (Words{"\n", "hello"}));
  EXPECT_EQ(llama3("1a"), (Words{"1", "a"}));
  // A lone trailing space.
  EXPECT_EQ(llama3("a "), (Words{"a", " "}));
  EXPECT_EQ(llama3(" ?\n"), (Words{" ?\n"}));
}

TEST(PreTokenizeQwen2, SingleDigitsOtherwiseLlama3) {
  EXPECT_EQ(qwen2("12345"), (Words{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(qwen2("I'M here"), (Words{"I", "'M", " here"}));
  EXPECT_EQ(qwen2("a\n\n  b"), (Words{"a", "\n\n", " ", " b"}));
  EXPECT_EQ(qwen2("x٣٤"), (Words{"x", "٣", "٤"}));
}

TEST(PreTokenizeStarcoder, EveryDigitAloneThenGpt2) {
  EXPECT_EQ(starcoder("abc 123x"), (Words{"abc", " ", "1", "2", "3", "x"}));
  // Digits cut the text into pieces before the GPT-2 pattern runs, so the space run before
  // "1" ends its piece and stays whole.
  EXPECT_EQ(starcoder("a  1"), (Words{"a", "  ", "1"}));
  EXPECT_EQ(gpt2("a  1"), (Words{"a", " ", " 1"}));
  EXPECT_EQ(starcoder("it's 2"), (Words{"it", "'s", " ", "2"}));
}

TEST(PreTokenizeDefault, PunctuationRunsThenGpt2ThenDigits) {
  EXPECT_EQ(default_pre("Hello, world! 1234567"),
            (Words{"Hello", ",", " world", "!", " ", "123", "456", "7"}));
  EXPECT_EQ(default_pre("a+=b"), (Words{"a", "+=", "b"}));
  // ` is not in the punctuation set: it stays with the GPT-2 "other" run.
  EXPECT_EQ(default_pre("x `y"), (Words{"x", " `", "y"}));
  // Non-ASCII numbers split as \p{N}+ but not into ASCII triples.
  EXPECT_EQ(default_pre("٣٤٥٦"), (Words{"٣٤٥٦"}));
}

TEST(PreTokenize, InvalidUtf8) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(decode_utf8_lenient("\xC1\x81"), std::u32string(U"A"));  // overlong, as llama.cpp
  EXPECT_EQ(decode_utf8_lenient("\xFF"), std::u32string(U"\uFFFD"));
  EXPECT_EQ(decode_utf8_lenient("\xE2\x82"), std::u32string(U"\uFFFD\uFFFD"));
  EXPECT_EQ(decode_utf8_lenient("\xED\xA0\x80"), std::u32string(1, char32_t{0xD800}));
  EXPECT_EQ(decode_utf8_lenient("\xF4\x90\x80\x80"), std::u32string(4, char32_t{0xFFFD}));
  EXPECT_EQ(decode_utf8_lenient("\xF0\x9F\xA6\x99"), std::u32string(1, char32_t{0x1F999}));
  EXPECT_EQ(gpt2("ab\xFF"
                 "cd"),
            (Words{"ab", fffd, "cd"}));
  EXPECT_EQ(llama3("\x80x"), (Words{fffd + "x"}));
}

TEST(PreTokenize, WordsCoverTheTextForEveryKind) {
  std::mt19937 rng(7);
  const std::vector<char32_t> alphabet = {
      'a', 'Z', '0', '9',  ' ',    '\n',   '\r',    '\t',   '\'',   's',    'M',
      '.', '$', '`', 0xA0, 0x4E2D, 0x0663, 0x1F999, 0x0301, 0x3000, 0x2028, 0xFFFD};
  for (int trial = 0; trial < 500; ++trial) {
    std::u32string cpts;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) cpts.push_back(alphabet[rng() % alphabet.size()]);
    for (const PreTokenizerKind kind : kAllKinds) {
      const std::vector<size_t> lengths = split_words(kind, cpts);
      size_t total = 0;
      for (const size_t length : lengths) {
        ASSERT_GT(length, 0u);
        total += length;
      }
      ASSERT_EQ(total, cpts.size()) << "trial " << trial;
    }
  }
}

TEST(PreTokenize, LinearOnLongRuns) {
  const std::string spaces(1000000, ' ');
  const std::string digits(1000000, '7');
  const auto start = std::chrono::steady_clock::now();
  for (const PreTokenizerKind kind : kAllKinds) {
    EXPECT_EQ(split_words(kind, decode_utf8_lenient(spaces)).size(), 1u);
    const size_t n_digit_words = split_words(kind, decode_utf8_lenient(digits)).size();
    EXPECT_GE(n_digit_words, 1u);
  }
  EXPECT_EQ(split_words(PreTokenizerKind::kLlama3, decode_utf8_lenient(digits)).size(), 333334u);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);  // ~10 MB through the scanners; generous for sanitizer builds
}

TEST(PreTokenizerTable, KnownValuesAndDefaults) {
  const auto spec = [](std::string_view pre) {
    Result<PreTokenizerSpec> s = find_pre_tokenizer(pre);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? *s : PreTokenizerSpec{};
  };
  EXPECT_EQ(spec("").kind, PreTokenizerKind::kDefault);  // absent key
  EXPECT_EQ(spec("gpt-2").kind, PreTokenizerKind::kGpt2);
  EXPECT_TRUE(spec("gpt-2").clean_spaces);
  EXPECT_EQ(spec("qwen2").kind, PreTokenizerKind::kQwen2);
  EXPECT_FALSE(spec("qwen2").clean_spaces);
  EXPECT_EQ(spec("starcoder").kind, PreTokenizerKind::kStarcoder);
  EXPECT_EQ(spec("refact").kind, PreTokenizerKind::kStarcoder);
  EXPECT_EQ(spec("smollm").kind, PreTokenizerKind::kStarcoder);
  EXPECT_FALSE(spec("smollm").clean_spaces);
  for (const char* name : {"llama3", "llama-bpe", "llama-v3", "falcon3"}) {
    const PreTokenizerSpec s = spec(name);
    EXPECT_EQ(s.kind, PreTokenizerKind::kLlama3) << name;
    EXPECT_TRUE(s.ignore_merges) << name;
    EXPECT_TRUE(s.add_bos) << name;
  }
  EXPECT_FALSE(spec("dbrx").ignore_merges);
  EXPECT_FALSE(spec("gpt-2").ignore_merges);
  EXPECT_FALSE(spec("gpt-2").add_bos);
}

TEST(PreTokenizerTable, UnknownValueIsUnimplemented) {
  Result<PreTokenizerSpec> s = find_pre_tokenizer("tekken");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.status().message().find("tokenizer.ggml.pre 'tekken'"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("supported: default, gpt-2,"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("llama-bpe"), std::string::npos);
}

}  // namespace
}  // namespace quire::engine
