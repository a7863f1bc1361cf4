// StreamDecoder: push() outputs + flush() == Tokenizer::decode(ids, false, special) for every id
// sequence, on hand-built vocabularies (exhaustively over short sequences, clean-up rules
// included) and, when ../shared is present, on the golden texts and random ids of the full
// llama-spm (SentencePiece) and bge (WordPiece) vocabs; characters spread over byte tokens come
// out whole.
#include "engine/tokenizer/stream_decoder.h"

#include <fstream>
#include <random>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_reader.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

// Streams ids through a StreamDecoder; returns the pieces each push returned, flush() last.
std::vector<std::string> stream(const Tokenizer& tokenizer, std::span<const TokenId> ids,
                                bool special) {
  StreamDecoder decoder(tokenizer, special);
  std::vector<std::string> outputs;
  for (const TokenId id : ids) outputs.push_back(decoder.push(id));
  outputs.push_back(decoder.flush());
  return outputs;
}

std::string concat(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += p;
  return out;
}

// Valid UTF-8 (shortest forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 2;
      cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 3;
      cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

Vocab make_vocab(const std::string& model,
                 const std::vector<std::pair<std::string, TokenType>>& entries) {
  Vocab vocab;
  vocab.model = model;
  for (const auto& [text, type] : entries) {
    vocab.tokens.push_back(text);
    vocab.types.push_back(type);
    vocab.scores.push_back(0.0f);
  }
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    vocab.index[vocab.tokens[i]] = static_cast<TokenId>(i);
  }
  vocab.unk = 0;
  return vocab;
}

std::unique_ptr<Tokenizer> make(Vocab vocab) {
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(std::move(vocab));
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  return tokenizer.ok() ? std::move(tokenizer).value() : nullptr;
}

constexpr TokenType kN = TokenType::kNormal;
const std::string kMark = "\xE2\x96\x81";  // ▁

// A WordPiece vocab whose pieces exercise every clean-up rule: spaces before ?!., and
// apostrophes, contractions ('s 'm 're 've and the untouched 't 'd), pieces that are only a
// space or end in one, a control token and an out-of-range id.
Vocab clean_up_vocab() {
  return make_vocab("bert", {{"[UNK]", TokenType::kUnknown},
                             {"[CLS]", TokenType::kControl},
                             {kMark, kN},                // " "
                             {kMark + "'", kN},          // " '"
                             {"'", kN},                  // "'"
                             {kMark + ".", kN},          // " ."
                             {"?", kN},                  // "?"
                             {"s", kN},                  // "s"
                             {"m", kN},                  // "m"
                             {"r", kN},                  // "r"
                             {"e", kN},                  // "e"
                             {"ve", kN},                 // "ve"
                             {"t", kN},                  // "t"
                             {kMark + "x" + kMark, kN},  // " x "
                             {"<u>", TokenType::kUserDefined}});
}

// Every sequence of up to `max_len` ids from `alphabet` (plus -1 and a too-large id): the
// streamed text equals decode's, for special false and true.
void check_all_sequences(const Tokenizer& tokenizer, size_t max_len, size_t* checked) {
  std::vector<TokenId> alphabet;
  for (size_t id = 0; id < tokenizer.vocab().size(); ++id)
    alphabet.push_back(static_cast<TokenId>(id));
  alphabet.push_back(-1);
  alphabet.push_back(static_cast<TokenId>(tokenizer.vocab().size()));
  std::vector<size_t> digits;
  for (size_t len = 0; len <= max_len; ++len) {
    digits.assign(len, 0);
    while (true) {
      std::vector<TokenId> ids;
      for (const size_t d : digits) ids.push_back(alphabet[d]);
      for (const bool special : {false, true}) {
        const std::string expected = tokenizer.decode(ids, false, special);
        const std::string got = concat(stream(tokenizer, ids, special));
        ++*checked;
        if (got != expected) {
          std::string shown;
          for (const TokenId id : ids) shown += std::to_string(id) + " ";
          FAIL() << "ids " << shown << "special " << special << ": got '" << got
                 << "', decode gives '" << expected << "'";
        }
      }
      size_t k = 0;
      while (k < len && ++digits[k] == alphabet.size()) digits[k++] = 0;
      if (k == len) break;
    }
  }
}

TEST(StreamDecoder, MatchesDecodeWithSpaceCleanUpOnAllShortSequences) {
  Vocab vocab = clean_up_vocab();
  vocab.clean_spaces = true;
  vocab.add_space_prefix = false;
  const auto tokenizer = make(vocab);
  ASSERT_NE(tokenizer, nullptr);
  ASSERT_TRUE(tokenizer->vocab().clean_spaces);
  size_t checked = 0;
  check_all_sequences(*tokenizer, 4, &checked);
  std::printf("clean_spaces, no space prefix: %zu sequences match decode\n", checked);
  EXPECT_EQ(checked, 2u * (1 + 17 + 17 * 17 + 17 * 17 * 17 + 17 * 17 * 17 * 17));

  // The same with the leading-space rule on (decode strips the first piece's space before the
  // clean-up runs).
  vocab.add_space_prefix = true;
  const auto with_prefix = make(vocab);
  ASSERT_NE(with_prefix, nullptr);
  checked = 0;
  check_all_sequences(*with_prefix, 3, &checked);
  std::printf("clean_spaces, space prefix: %zu sequences match decode\n", checked);
}

TEST(StreamDecoder, CleanUpHoldsBackOnlyWhatTheNextTokenDecides) {
  Vocab vocab = clean_up_vocab();
  vocab.clean_spaces = true;
  vocab.add_space_prefix = false;
  const auto tokenizer = make(vocab);
  ASSERT_NE(tokenizer, nullptr);
  // " x " + "?": the trailing space waits, then goes (" ?" -> "?").
  EXPECT_EQ(stream(*tokenizer, std::vector<TokenId>{13, 6}, false),
            (std::vector<std::string>{" x", "?", ""}));
  // " x " + "s": the space waits and comes back with the "s".
  EXPECT_EQ(stream(*tokenizer, std::vector<TokenId>{13, 7}, false),
            (std::vector<std::string>{" x", " s", ""}));
  // " x " " '" "r" "e" = " x  're": the space before "'re" goes only once the "e" arrives.
  EXPECT_EQ(stream(*tokenizer, std::vector<TokenId>{13, 3, 9, 10}, false),
            (std::vector<std::string>{" x", "", " ", "'re", ""}));
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{13, 3, 9, 10}, false, false), " x 're");
  // ... and stays when the "e" never comes: flush() releases " 'r".
  EXPECT_EQ(stream(*tokenizer, std::vector<TokenId>{13, 3, 9}, false),
            (std::vector<std::string>{" x", "", " ", " 'r"}));
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{13, 3, 9}, false, false), " x  'r");
}

TEST(StreamDecoder, NoCleanUpPassesEverythingThrough) {
  Vocab vocab = clean_up_vocab();
  vocab.model = "llama";
  vocab.clean_spaces = false;
  vocab.add_space_prefix = true;
  const auto tokenizer = make(vocab);
  ASSERT_NE(tokenizer, nullptr);
  // SentencePiece: the first piece loses its leading space, later ones keep it, nothing waits.
  EXPECT_EQ(stream(*tokenizer, std::vector<TokenId>{13, 5, 3, 7}, false),
            (std::vector<std::string>{"x ", " .", " '", "s", ""}));
  size_t checked = 0;
  check_all_sequences(*tokenizer, 3, &checked);
  std::printf("SentencePiece pieces, no clean-up: %zu sequences match decode\n", checked);
}

// A SentencePiece vocab with the 256 byte tokens at ids 3..258.
Vocab byte_vocab() {
  std::vector<std::pair<std::string, TokenType>> entries = {
      {"<unk>", TokenType::kUnknown}, {"<s>", TokenType::kControl}, {"</s>", TokenType::kControl}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    entries.emplace_back(name, TokenType::kByte);
  }
  entries.emplace_back(kMark + "hi", kN);
  entries.emplace_back(kMark, kN);
  entries.emplace_back(kMark + "h", kN);
  Vocab vocab = make_vocab("llama", entries);
  vocab.bos = 1;
  vocab.eos = 2;
  vocab.add_bos = true;
  vocab.add_space_prefix = true;
  return vocab;
}

TEST(StreamDecoder, CharacterOverByteTokensComesOutWhole) {
  const auto tokenizer = make(byte_vocab());
  ASSERT_NE(tokenizer, nullptr);
  const TokenId hi = 259, space = 260;
  const auto byte = [](int b) { return static_cast<TokenId>(3 + b); };
  // "hi 🦙!" (🦙 = F0 9F A6 99): nothing of the emoji until its fourth byte.
  const std::vector<TokenId> ids = {hi,         space,      byte(0xF0), byte(0x9F),
                                    byte(0xA6), byte(0x99), byte('!')};
  EXPECT_EQ(tokenizer->encode("hi 🦙!", false, false), ids);
  EXPECT_EQ(stream(*tokenizer, ids, false),
            (std::vector<std::string>{"hi", " ", "", "", "", "🦙", "!", ""}));
  // "é" (C3 A9) then a 3-byte "€" (E2 82 AC).
  EXPECT_EQ(stream(*tokenizer,
                   std::vector<TokenId>{byte(0xC3), byte(0xA9), byte(0xE2), byte(0x82), byte(0xAC)},
                   false),
            (std::vector<std::string>{"", "é", "", "", "€", ""}));
  // An incomplete character at the end comes out of flush() as it is.
  EXPECT_EQ(stream(*tokenizer, std::vector<TokenId>{hi, byte(0xF0), byte(0x9F)}, false),
            (std::vector<std::string>{"hi", "", "", "\xF0\x9F"}));
  // Bytes that cannot become valid UTF-8 are not held: a lead byte followed by ASCII, a stray
  // continuation byte, 0xFF.
  EXPECT_EQ(stream(*tokenizer, std::vector<TokenId>{byte(0xE2), byte('a'), byte(0x80), byte(0xFF)},
                   false),
            (std::vector<std::string>{"",
                                      "\xE2"
                                      "a",
                                      "\x80", "\xFF", ""}));
  // A special token in between: rendered only with `special`, and it does not complete the
  // character (the held bytes then come out before its text).
  EXPECT_EQ(stream(*tokenizer, std::vector<TokenId>{byte(0xC3), 1, byte(0xA9)}, true),
            (std::vector<std::string>{"", "\xC3<s>", "\xA9", ""}));
}

TEST(StreamDecoder, FlushStartsANewStream) {
  const auto tokenizer = make(byte_vocab());
  ASSERT_NE(tokenizer, nullptr);
  StreamDecoder decoder(*tokenizer);
  EXPECT_EQ(decoder.push(259), "hi");
  EXPECT_EQ(decoder.push(259), " hi");
  EXPECT_EQ(decoder.flush(), "");
  EXPECT_EQ(decoder.push(259), "hi");  // the first piece of the new stream loses its space
  EXPECT_EQ(decoder.push(3 + 0xC3), "");
  EXPECT_EQ(decoder.flush(), "\xC3");
  EXPECT_EQ(decoder.flush(), "");
}

TEST(StreamDecoder, RandomIdsOnByteVocab) {
  const auto tokenizer = make(byte_vocab());
  ASSERT_NE(tokenizer, nullptr);
  std::mt19937 rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<TokenId> ids(rng() % 12);
    for (TokenId& id : ids) id = static_cast<TokenId>(rng() % 264) - 1;
    const bool special = (trial & 1) != 0;
    ASSERT_EQ(concat(stream(*tokenizer, ids, special)), tokenizer->decode(ids, false, special))
        << "trial " << trial;
  }
}

// ---- full vocabularies from ../shared ----

std::string conformance(const std::string& relative) {
  return test::shared_dir() + "/conformance/" + relative;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  Result<gguf::GgufFile> file = gguf::GgufFile::open(path);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  if (!file.ok()) return nullptr;
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(*file);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  return tokenizer.ok() ? std::move(tokenizer).value() : nullptr;
}

// The golden texts' ids (with and without BOS): the stream equals decode, and every push()
// returns valid UTF-8 (these texts are valid, so nothing invalid may come out early).
void check_golden_texts(const Tokenizer& tokenizer, const std::string& jsonl) {
  std::ifstream in(jsonl);
  ASSERT_TRUE(in.good()) << jsonl;
  size_t lines = 0, matched = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const nlohmann::json row = nlohmann::json::parse(line);
    const std::string text = row.at("text").get<std::string>();
    bool ok = true;
    for (const bool add_special : {false, true}) {
      const auto ids = tokenizer.encode(text, add_special, false);
      for (const bool special : {false, true}) {
        const auto outputs = stream(tokenizer, ids, special);
        const std::string expected = tokenizer.decode(ids, false, special);
        EXPECT_EQ(concat(outputs), expected) << text;
        ok = ok && concat(outputs) == expected;
        for (size_t i = 0; i + 1 < outputs.size(); ++i) {
          EXPECT_TRUE(is_valid_utf8(outputs[i])) << text << " push " << i;
          ok = ok && is_valid_utf8(outputs[i]);
        }
      }
    }
    ++lines;
    if (ok) ++matched;
  }
  EXPECT_EQ(lines, 32u);
  EXPECT_EQ(matched, lines);
  std::printf("%s: %zu/%zu texts stream exactly\n", jsonl.c_str(), matched, lines);
}

void check_random_ids(const Tokenizer& tokenizer, uint32_t seed) {
  // Uniform ids rarely hit the pieces the clean-up rules care about, so half the draws come
  // from the short pieces (1-2 bytes after "▁" shown as a space), which do.
  std::vector<TokenId> short_pieces;
  for (size_t id = 0; id < tokenizer.vocab().size(); ++id) {
    if (tokenizer.token_to_piece(static_cast<TokenId>(id), true).size() <= 2) {
      short_pieces.push_back(static_cast<TokenId>(id));
    }
  }
  ASSERT_FALSE(short_pieces.empty());
  std::mt19937 rng(seed);
  const auto n = static_cast<uint32_t>(tokenizer.vocab().size());
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<TokenId> ids(rng() % 24);
    for (TokenId& id : ids) {
      id = (rng() & 1) != 0 ? short_pieces[rng() % short_pieces.size()]
                            : static_cast<TokenId>(rng() % (n + 2)) - 1;
    }
    const bool special = (trial & 1) != 0;
    const std::string expected = tokenizer.decode(ids, false, special);
    ASSERT_EQ(concat(stream(tokenizer, ids, special)), expected) << "trial " << trial;
  }
}

TEST(StreamDecoderShared, SentencePieceLlamaSpm) {
  QUIRE_REQUIRE_SHARED();
  const auto tokenizer = load_tokenizer(conformance("vocab/ggml-vocab-llama-spm.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  check_golden_texts(*tokenizer, conformance("golden/vocab-llama-spm/tokens.jsonl"));
  check_random_ids(*tokenizer, 5);
}

TEST(StreamDecoderShared, WordPieceBge) {
  QUIRE_REQUIRE_SHARED();
  const auto tokenizer = load_tokenizer(conformance("vocab/ggml-vocab-bert-bge.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  ASSERT_TRUE(tokenizer->vocab().clean_spaces);
  check_golden_texts(*tokenizer, conformance("golden/vocab-bert-bge/tokens.jsonl"));
  check_random_ids(*tokenizer, 6);
}

}  // namespace
}  // namespace quire::engine
