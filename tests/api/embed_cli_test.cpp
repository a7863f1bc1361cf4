// `quire embed` end to end: JSON arrays on stdout in input order, timings on stderr, errors.
#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace quire {
namespace {

std::string model() {
  return test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf";
}

std::vector<std::vector<float>> parse_lines(const std::string& out) {
  std::vector<std::vector<float>> rows;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) {
      rows.push_back(
          nlohmann::json::parse(out.substr(start, end - start)).get<std::vector<float>>());
    }
    start = end + 1;
  }
  return rows;
}

TEST(EmbedCliTest, TextsAndFileGiveTheSameVectors) {
  QUIRE_REQUIRE_SHARED();
  auto r = test::run_command({test::quire_binary(), "embed", "--model", model(), "--threads", "2",
                              "Hello world", "The quick brown fox."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = parse_lines(r.out);
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& v : rows) {
    ASSERT_EQ(v.size(), 128u);
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
  EXPECT_NE(rows[0], rows[1]);
  EXPECT_NE(r.err.find("embedded 2 texts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;

  test::TempDir dir;
  const std::string text = "The quick brown fox.\nHello world\n";
  test::write_file(dir.file("in.txt"), std::vector<uint8_t>(text.begin(), text.end()));
  auto f = test::run_command(
      {test::quire_binary(), "embed", "--model", model(), "--file", dir.file("in.txt")});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  auto file_rows = parse_lines(f.out);
  ASSERT_EQ(file_rows.size(), 2u);
  EXPECT_EQ(file_rows[0], rows[1]);  // input order kept
  EXPECT_EQ(file_rows[1], rows[0]);
}

TEST(EmbedCliTest, Errors) {
  QUIRE_REQUIRE_SHARED();
  auto no_model = test::run_command({test::quire_binary(), "embed", "text"});
  EXPECT_EQ(no_model.exit_code, 2);
  EXPECT_NE(no_model.err.find("--model is required"), std::string::npos);
  auto nothing = test::run_command({test::quire_binary(), "embed", "--model", model()});
  EXPECT_EQ(nothing.exit_code, 2);
  auto decoder =
      test::run_command({test::quire_binary(), "embed", "--model",
                         test::shared_dir() + "/conformance/models/qwen2-tiny-q8_0.gguf", "text"});
  EXPECT_EQ(decoder.exit_code, 8);  // UNIMPLEMENTED: not an embedding architecture
  EXPECT_NE(decoder.err.find("qwen2"), std::string::npos) << decoder.err;
  auto missing = test::run_command(
      {test::quire_binary(), "embed", "--model", model(), "--file", "/nonexistent/texts.txt"});
  EXPECT_EQ(missing.exit_code, 3);
}

}  // namespace
}  // namespace quire
