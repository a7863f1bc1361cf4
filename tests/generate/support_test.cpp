#include "generate/support.h"

#include <gtest/gtest.h>

namespace quire::generate {
namespace {

TEST(Support, CitedSentencesOwnTheirMarks) {
  const std::string answer =
      "Paxos needs a majority of acceptors [1]. Leaders are elected [2, 3]. No source here. "
      "Raft uses terms. [2] Out of range [9].";
  const auto s = cited_sentences(answer, 3);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].numbers, (std::vector<int>{1}));
  EXPECT_EQ(s[0].text, "Paxos needs a majority of acceptors .");
  EXPECT_EQ(s[1].numbers, (std::vector<int>{2, 3}));
  EXPECT_EQ(s[2].numbers, (std::vector<int>{2}));  // the mark after the period
  EXPECT_EQ(s[2].text, "Raft uses terms.");
}

TEST(Support, LexicalShareOfTheSentenceTerms) {
  EXPECT_DOUBLE_EQ(lexical_support("Acceptors form a majority quorum",
                                   "a majority of acceptors must agree; quorums intersect"),
                   3.0 / 4.0);  // acceptor, majority, quorum found (stemmed); "form" not
  EXPECT_DOUBLE_EQ(lexical_support("Bananas are yellow", "Paxos chooses a value"), 0.0);
  EXPECT_DOUBLE_EQ(lexical_support("It is so.", "anything"), 1.0);  // function words only
  auto scores = support_scores(cited_sentences("Paxos chooses a value [1]. Bananas [2].", 2),
                               {"Paxos chooses one value", "Raft elects leaders"}, nullptr);
  ASSERT_TRUE(scores.ok());
  ASSERT_EQ(scores->size(), 2u);
  EXPECT_DOUBLE_EQ((*scores)[0][0], 1.0);
  EXPECT_LT((*scores)[1][0], kWeakSupport);
}

}  // namespace
}  // namespace quire::generate
