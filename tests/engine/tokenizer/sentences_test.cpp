#include "engine/tokenizer/sentences.h"

#include <string>

#include <gtest/gtest.h>

namespace quire::engine {
namespace {

std::vector<std::string> sentences(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& [a, b] : split_sentences(text)) out.emplace_back(text.substr(a, b - a));
  return out;
}

using Strings = std::vector<std::string>;

TEST(Sentences, EndsAndAbbreviations) {
  EXPECT_EQ(sentences("It works. See Fig. 3 and Smith et al. for details! Really? Yes."),
            (Strings{"It works.", "See Fig. 3 and Smith et al. for details!", "Really?", "Yes."}));
  EXPECT_EQ(sentences("Use e.g. caching, i.e. memory. J. Smith agrees. No. 5 is next."),
            (Strings{"Use e.g. caching, i.e. memory.", "J. Smith agrees.", "No. 5 is next."}));
  EXPECT_EQ(sentences("He said \"stop.\" Then (as usual.) It ended."),
            (Strings{"He said \"stop.\"", "Then (as usual.)", "It ended."}));
  EXPECT_EQ(sentences("Version 2.5 is out. 3 items remain."),
            (Strings{"Version 2.5 is out.", "3 items remain."}));
  EXPECT_EQ(sentences("lower case. does not start one"),
            (Strings{"lower case. does not start one"}));
  EXPECT_EQ(sentences("Zürich. Élan starts one."), (Strings{"Zürich.", "Élan starts one."}));
}

TEST(Sentences, ParagraphsAndOffsets) {
  const std::string text = "  First one. Second\n\nThird para.  \n";
  const auto spans = split_sentences(text);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(text.substr(spans[0].first, spans[0].second - spans[0].first), "First one.");
  EXPECT_EQ(text.substr(spans[1].first, spans[1].second - spans[1].first), "Second");
  EXPECT_EQ(text.substr(spans[2].first, spans[2].second - spans[2].first), "Third para.");
  EXPECT_TRUE(split_sentences("").empty());
  EXPECT_TRUE(split_sentences(" \n\n ").empty());
}

}  // namespace
}  // namespace quire::engine
