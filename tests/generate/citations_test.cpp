#include "generate/citations.h"

#include <gtest/gtest.h>

namespace quire::generate {
namespace {

std::vector<std::vector<int>> numbers(std::string_view text, int n_sources = 5) {
  std::vector<std::vector<int>> out;
  for (const auto& m : parse_citations(text, n_sources)) out.push_back(m.numbers);
  return out;
}

using Groups = std::vector<std::vector<int>>;

TEST(Citations, WrittenOutAnswers) {
  EXPECT_EQ(numbers("Paxos needs a majority [1]."), (Groups{{1}}));
  EXPECT_EQ(numbers("Both agree [1, 3] and [2]"), (Groups{{1, 3}, {2}}));
  EXPECT_EQ(numbers("A range [2–4] (en dash)"), (Groups{{2, 3, 4}}));
  EXPECT_EQ(numbers("A range [2-4] and [1 - 2]"), (Groups{{2, 3, 4}, {1, 2}}));
  EXPECT_EQ(numbers("Em dash [3—5]"), (Groups{{3, 4, 5}}));
  EXPECT_EQ(numbers("Semicolons [1; 2;3]"), (Groups{{1, 2, 3}}));
  EXPECT_EQ(numbers("Spaces [ 2 ] and repeats [2, 2, 1]"), (Groups{{2}, {2, 1}}));
  EXPECT_EQ(numbers("[1]"), (Groups{{1}}));
  EXPECT_EQ(numbers("Ends the answer.[4]"), (Groups{{4}}));
  EXPECT_EQ(numbers("Mixed [1, 3–4]."), (Groups{{1, 3, 4}}));
}

TEST(Citations, OffsetsCoverTheMark) {
  const std::string text = "Claim [1, 2]. Next [3].";
  auto marks = parse_citations(text, 5);
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(text.substr(marks[0].begin, marks[0].end - marks[0].begin), "[1, 2]");
  EXPECT_EQ(text.substr(marks[1].begin, marks[1].end - marks[1].begin), "[3]");
}

TEST(Citations, NumbersThatPointAtNoSource) {
  auto marks = parse_citations("Out of range [12] and [2, 7] and [3]", 5);
  ASSERT_EQ(marks.size(), 3u);
  EXPECT_EQ(marks[0].invalid, (std::vector<int>{12}));
  EXPECT_EQ(marks[1].numbers, (std::vector<int>{2, 7}));
  EXPECT_EQ(marks[1].invalid, (std::vector<int>{7}));
  EXPECT_TRUE(marks[2].invalid.empty());
  EXPECT_EQ(parse_citations("[1]", 0)[0].invalid, (std::vector<int>{1}));
}

TEST(Citations, BracketsThatAreNotCitations) {
  EXPECT_TRUE(numbers("the interval [0, 1] is closed").empty());
  EXPECT_TRUE(numbers("x in [0.5, 1.5]").empty());
  EXPECT_TRUE(numbers("array a[1]=b and a[2][3]").empty());
  EXPECT_TRUE(numbers("subscripts x_[1] and e^[2]").empty());
  EXPECT_TRUE(numbers("a link [1](http://x) and [2]'s").empty());
  EXPECT_TRUE(numbers("[n] [ ] [] [1,] [,1] [1 2] [01] [12345]").empty());
  EXPECT_TRUE(numbers("backwards [4–2] and wide [1-500]").empty());
  EXPECT_TRUE(numbers("unclosed [1, 2").empty());
  EXPECT_TRUE(numbers("nested [[1]x").empty());
  // A formula does not hide a real citation after it.
  EXPECT_EQ(numbers("f(x) = [x]^2 on [0, 1] [2]"), (Groups{{2}}));
}

}  // namespace
}  // namespace quire::generate
