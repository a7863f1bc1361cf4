// "Not in the sources": which question words are names, and how the absent-name and weak-evidence
// tests decide, against a lookup over a small written-out vocabulary.
#include "generate/decline.h"

#include <set>

#include <gtest/gtest.h>

namespace quire::generate {
namespace {

// The index's words and two-word phrases, lower-cased; a prefix lookup matches a phrase whose
// last word starts with the text's last word.
struct FakeIndex {
  std::set<std::string> phrases;
  std::vector<std::string> asked = {};
  NameLookup lookup() {
    return [this](std::string_view text, bool prefix) -> Result<bool> {
      std::string lower;
      for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      asked.push_back(lower + (prefix ? "*" : ""));
      if (!prefix) return phrases.count(lower) > 0;
      for (const std::string& p : phrases) {
        if (p.starts_with(lower)) return true;
      }
      return false;
    };
  }
};

TEST(QuestionNames, CapitalsAfterTheFirstWordAndLettersWithDigits) {
  EXPECT_EQ(question_names("How does the Kubernetes scheduler pick a node?"),
            std::vector<std::string>{"Kubernetes"});
  EXPECT_EQ(question_names("What top-1 accuracy does EfficientNet-B7 reach?"),
            (std::vector<std::string>{"top-1", "EfficientNet-B7"}));
  // The first word is capitalized by grammar; short words and possessives are trimmed.
  EXPECT_EQ(question_names("Which model is GPT's (successor) to AI?"),
            std::vector<std::string>{"GPT"});
  EXPECT_TRUE(question_names("what is attention").empty());
  EXPECT_EQ(question_names("Does micro-F1 improve with \"BatchNorm\"?"),
            (std::vector<std::string>{"micro-F1", "BatchNorm"}));
  // Each name once.
  EXPECT_EQ(question_names("Is Mamba faster than Mamba?"), std::vector<std::string>{"Mamba"});
}

TEST(DecideDecline, AbsentProperNameDeclines) {
  FakeIndex index{{"transformer", "attention"}};
  auto d = decide_decline("How does the Kubernetes scheduler work?", 50, 50, index.lookup());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->declined);
  EXPECT_EQ(d->absent_names, std::vector<std::string>{"Kubernetes"});
  EXPECT_NE(d->reason.find("'Kubernetes'"), std::string::npos) << d->reason;
}

TEST(DecideDecline, VariantNamesNeedTheirPhrase) {
  // "efficientnet" and "b7" occur, but never together: the variant is absent.
  FakeIndex apart{{"efficientnet", "b7", "top", "1"}};
  auto d = decide_decline("What does EfficientNet-B7 reach?", 50, 50, apart.lookup());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->declined);
  EXPECT_EQ(d->absent_names, std::vector<std::string>{"EfficientNet-B7"});

  FakeIndex phrase{{"efficientnet b7"}};
  EXPECT_FALSE(
      decide_decline("What does EfficientNet-B7 reach?", 50, 50, phrase.lookup())->declined);
  FakeIndex one_word{{"efficientnetb7"}};
  EXPECT_FALSE(
      decide_decline("What does EfficientNet-B7 reach?", 50, 50, one_word.lookup())->declined);
}

TEST(DecideDecline, LowerCaseLedNamesNeedOnlyTheirLongParts) {
  // "micro-F1": "micro" occurs, "F1" is too short to test; the name counts as present.
  FakeIndex index{{"micro"}};
  auto d = decide_decline("How much does micro-F1 improve?", 50, 50, index.lookup());
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->declined) << d->reason;
  FakeIndex none{{"macro"}};
  EXPECT_TRUE(decide_decline("How much does micro-F1 improve?", 50, 50, none.lookup())->declined);
}

TEST(DecideDecline, CamelCaseMaySpellOut) {
  FakeIndex index{{"batch normalization"}};
  auto d = decide_decline("Which layer replaces BatchNorm here?", 50, 50, index.lookup());
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->declined) << d->reason;
  EXPECT_NE(std::find(index.asked.begin(), index.asked.end(), "batch norm*"), index.asked.end());
  FakeIndex other{{"batch size"}};
  EXPECT_TRUE(
      decide_decline("Which layer replaces BatchNorm here?", 50, 50, other.lookup())->declined);
}

TEST(DecideDecline, WeakEvidenceBelowThreshold) {
  FakeIndex index{{"kubernetes"}};
  DeclineOptions options;
  options.min_evidence = 0.35;
  // Evidence is the best BM25 score over the question's total idf.
  auto weak =
      decide_decline("How does the Kubernetes scheduler work?", 3.4, 10.0, index.lookup(), options);
  ASSERT_TRUE(weak.ok());
  EXPECT_TRUE(weak->declined);
  EXPECT_NEAR(weak->evidence, 0.34, 1e-12);
  EXPECT_DOUBLE_EQ(weak->best_bm25, 3.4);
  EXPECT_NE(weak->reason.find("below the threshold 0.35"), std::string::npos) << weak->reason;
  // The same score with rarer terms (a larger idf total) is weaker evidence; with commoner
  // ones, stronger: the ratio, not the raw score, decides.
  EXPECT_FALSE(
      decide_decline("How does the Kubernetes scheduler work?", 3.4, 9.0, index.lookup(), options)
          ->declined);
  EXPECT_TRUE(
      decide_decline("How does the Kubernetes scheduler work?", 30, 100.0, index.lookup(), options)
          ->declined);
  // No matching term at all: evidence 0.
  auto nothing = decide_decline("what is it", 0, 0, index.lookup(), options);
  EXPECT_TRUE(nothing->declined);
  EXPECT_EQ(nothing->evidence, 0.0);
  // The user can lower the threshold, turn off the names test, or disable both.
  options.min_evidence = 0;
  EXPECT_FALSE(decide_decline("what is it", 0.5, 10, index.lookup(), options)->declined);
  options.min_evidence = 0.35;
  options.absent_names = false;
  FakeIndex empty;
  EXPECT_FALSE(
      decide_decline("How does Kubernetes work?", 30, 30, empty.lookup(), options)->declined);
  options.enabled = false;
  EXPECT_FALSE(
      decide_decline("How does Kubernetes work?", 0, 0, empty.lookup(), options)->declined);
  EXPECT_TRUE(empty.asked.empty());
}

TEST(DecideDecline, LookupErrorsPropagate) {
  NameLookup failing = [](std::string_view, bool) -> Result<bool> {
    return internal_error("disk on fire");
  };
  auto d = decide_decline("Does Kubernetes schedule?", 50, 50, failing);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace quire::generate
