#include "tests/support/tokenizer_goldens.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_reader.h"
#include "tests/support/test_support.h"

namespace quire::test {
namespace {

using engine::TokenId;

// Hex of the bytes, "-" for none (the pieces_hex_no_special convention).
std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  if (bytes.empty()) return "-";
  std::string out;
  for (const unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace

std::string conformance_path(const std::string& relative) {
  return shared_dir() + "/conformance/" + relative;
}

std::unique_ptr<engine::Tokenizer> load_tokenizer(const std::string& path) {
  Result<engine::gguf::GgufFile> file = engine::gguf::GgufFile::open(path);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  if (!file.ok()) return nullptr;
  Result<std::unique_ptr<engine::Tokenizer>> tokenizer = engine::make_tokenizer(*file);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  if (!tokenizer.ok()) return nullptr;
  return std::move(tokenizer).value();
}

size_t check_tokens_jsonl(const engine::Tokenizer& tokenizer, const std::string& path,
                          size_t* lines) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  size_t passed = 0;
  *lines = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++*lines;
    const nlohmann::json row = nlohmann::json::parse(line);
    const std::string text = row.at("text").get<std::string>();
    SCOPED_TRACE(std::string("index ") + std::to_string(row.at("index").get<int>()) + ": " + text);

    const auto ids_add_special = tokenizer.encode(text, true, false);
    const auto ids_no_special = tokenizer.encode(text, false, false);
    const auto ids_parse_special = tokenizer.encode(text, true, true);
    std::vector<std::string> pieces_hex;
    for (const TokenId id : ids_no_special) {
      pieces_hex.push_back(hex(tokenizer.token_to_piece(id, true)));
    }

    bool ok = true;
    const auto check = [&](const auto& got, const char* field) {
      using T = std::decay_t<decltype(got)>;
      const T expected = row.at(field).get<T>();
      EXPECT_EQ(got, expected) << field;
      ok = ok && got == expected;
    };
    check(ids_add_special, "ids_add_special");
    check(ids_no_special, "ids_no_special");
    check(ids_parse_special, "ids_add_special_parse_special");
    check(tokenizer.decode(ids_no_special, false, false), "detok_no_special");
    check(tokenizer.decode(ids_add_special, true, false), "detok_add_special_removed");
    check(pieces_hex, "pieces_hex_no_special");
    if (ok) ++passed;
  }
  return passed;
}

void check_inp_out(const engine::Tokenizer& tokenizer, const std::string& vocab_file) {
  const std::string inp = read_text_file(conformance_path("vocab/" + vocab_file + ".inp"));
  const std::string out = read_text_file(conformance_path("vocab/" + vocab_file + ".out"));

  // Cases are separated by this line, and the file ends with it.
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  size_t begin = 0;
  for (size_t at = inp.find(separator); at != std::string::npos; at = inp.find(separator, begin)) {
    cases.push_back(inp.substr(begin, at - begin));
    begin = at + separator.size();
  }
  EXPECT_EQ(begin, inp.size()) << "text after the last separator";

  std::vector<std::vector<TokenId>> expected;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream ids(line);
    std::vector<TokenId> row;
    for (TokenId id; ids >> id;) row.push_back(id);
    expected.push_back(row);
  }
  ASSERT_EQ(cases.size(), 46u);
  ASSERT_EQ(expected.size(), cases.size());

  size_t passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto got = tokenizer.encode(cases[i], false, false);
    EXPECT_EQ(got, expected[i]) << vocab_file << " case " << i << ": '" << cases[i] << "'";
    if (got == expected[i]) ++passed;
  }
  std::printf("%s .inp/.out: %zu/%zu cases pass\n", vocab_file.c_str(), passed, cases.size());
}

}  // namespace quire::test
