// Extractive answers on written-out sources: the answering sentence is chosen over sentences
// that merely share words, each is cited with its source's number and exact offsets, the
// option limits hold, and non-prose (tables, references) loses to prose.
#include "generate/extractive.h"

#include <gtest/gtest.h>

namespace quire::generate {
namespace {

retrieve::PackedSource source(int number, std::string text, double score, int64_t char_start) {
  retrieve::PackedSource s;
  s.number = number;
  s.doc_id = number;
  s.path = "/doc" + std::to_string(number) + ".pdf";
  s.char_start = char_start;
  s.char_end = char_start + static_cast<int64_t>(text.size());
  s.text = std::move(text);
  s.score = score;
  return s;
}

TEST(ExtractAnswer, PicksTheAnsweringSentenceAndCitesItsSource) {
  std::vector<retrieve::PackedSource> sources = {
      source(1,
             "Related work covers many optimizers for deep networks. Training is often unstable "
             "with large learning rates in practice. We list further work in the appendix.",
             10.0, 0),
      source(2,
             "The cosine schedule decays the learning rate to ten percent of its peak value. "
             "The warmup lasts two thousand steps with a linear ramp for every model size.",
             9.0, 5000),
  };
  const ExtractiveAnswer a =
      extract_answer("How many steps does the learning rate warmup last?", sources);
  ASSERT_FALSE(a.spans.empty());
  EXPECT_EQ(a.spans[0].source_number, 2);
  EXPECT_EQ(a.spans[0].text,
            "The warmup lasts two thousand steps with a linear ramp for every model size.");
  // Offsets are into the document: the source starts at 5000.
  const size_t at = sources[1].text.find("The warmup");
  EXPECT_EQ(a.spans[0].char_start, 5000 + static_cast<int64_t>(at));
  EXPECT_EQ(a.spans[0].char_end,
            a.spans[0].char_start + static_cast<int64_t>(a.spans[0].text.size()));
  EXPECT_EQ(a.text.substr(0, a.spans[0].text.size() + 4), a.spans[0].text + " [2]");
  // Every span of the text is followed by its source's number.
  for (const auto& span : a.spans) {
    EXPECT_NE(a.text.find(span.text + " [" + std::to_string(span.source_number) + "]"),
              std::string::npos);
  }
}

TEST(ExtractAnswer, OneSentencePerSourceUpToMaxSentences) {
  std::vector<retrieve::PackedSource> sources;
  for (int i = 1; i <= 5; ++i) {
    sources.push_back(source(i,
                             "The gradient clipping threshold was set to one point zero in run " +
                                 std::to_string(i) + " of the study. Nothing else is here.",
                             10.0 - i * 0.1, i * 1000));
  }
  ExtractOptions options;
  options.max_sentences = 3;
  const ExtractiveAnswer a =
      extract_answer("What gradient clipping threshold was set in the study?", sources, options);
  ASSERT_EQ(a.spans.size(), 3u);
  std::set<int> cited;
  for (const auto& s : a.spans) cited.insert(s.source_number);
  EXPECT_EQ(cited.size(), 3u);  // three distinct sources
  options.max_sentences = 1;
  EXPECT_EQ(extract_answer("What gradient clipping threshold?", sources, options).spans.size(), 1u);
}

TEST(ExtractAnswer, WeakFurtherSourcesAreLeftOut) {
  std::vector<retrieve::PackedSource> sources = {
      source(1,
             "The dropout rate of the transformer base model is 0.1 on every sublayer output "
             "during training.",
             10.0, 0),
      source(2, "Cooking pasta needs a large pot of well salted boiling water and patience.", 0.1,
             100),
  };
  const ExtractiveAnswer a =
      extract_answer("What dropout rate does the transformer base model use?", sources);
  ASSERT_EQ(a.spans.size(), 1u);
  EXPECT_EQ(a.spans[0].source_number, 1);
}

TEST(ExtractAnswer, ProseBeatsTableRowsWithTheSameWords) {
  std::vector<retrieve::PackedSource> sources = {
      source(1,
             "BLEU 28.4 41.8 BLEU 27.3 38.1\nThe big model reaches a BLEU score of 28.4 on the "
             "English to German test set.",
             5.0, 0),
  };
  ExtractOptions options;
  options.window = 1;
  const ExtractiveAnswer a = extract_answer(
      "What BLEU score does the big model reach on English to German?", sources, options);
  ASSERT_EQ(a.spans.size(), 1u);
  EXPECT_EQ(a.spans[0].text.rfind("The big model", 0), 0u) << a.spans[0].text;
}

TEST(ExtractAnswer, NoSourcesOrNoSentencesGiveNoAnswer) {
  EXPECT_TRUE(extract_answer("anything?", {}).spans.empty());
  EXPECT_TRUE(extract_answer("anything?", {}).text.empty());
  const ExtractiveAnswer empty = extract_answer("anything?", {source(1, "", 1.0, 0)});
  EXPECT_TRUE(empty.spans.empty());
}

}  // namespace
}  // namespace quire::generate
