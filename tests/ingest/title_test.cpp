// The title heuristic on its own: what reads like a title, file-name metadata, cleaning, the
// metadata check against page 1, the type-size runs of page 1 and the text-document fallbacks.
// (tests/ingest/extract_test.cpp checks the titles of real papers end to end.)
#include "ingest/title.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace quire::ingest {
namespace {

TEST(Title, LooksLikeTitleText) {
  EXPECT_TRUE(looks_like_title_text("Attention Is All You Need"));
  EXPECT_TRUE(looks_like_title_text("Dynamo: Amazon\u2019s Highly Available Key-value Store"));
  EXPECT_TRUE(looks_like_title_text("Compression"));  // one word of 6 letters or more
  EXPECT_FALSE(looks_like_title_text(""));
  EXPECT_FALSE(looks_like_title_text("Hello"));     // one short word
  EXPECT_FALSE(looks_like_title_text("12 34 56"));  // no letters
  EXPECT_FALSE(looks_like_title_text("Abstract"));
  EXPECT_FALSE(looks_like_title_text("1. Introduction"));
  EXPECT_FALSE(looks_like_title_text("References"));
  EXPECT_FALSE(looks_like_title_text("arXiv:1706.03762v5 [cs.CL] 6 Dec 2017"));
  EXPECT_FALSE(looks_like_title_text("See https://example.com for the paper"));
  EXPECT_FALSE(looks_like_title_text("M)NPORQTS%UVMPWXO garbage"));  // font-encoding garbage
  EXPECT_TRUE(looks_like_title_text("A simpli#ed proof"));           // one unmapped ligature
  EXPECT_FALSE(looks_like_title_text(std::string(kMaxTitleBytes + 1, 'a')));
}

TEST(Title, LooksLikeFileName) {
  EXPECT_TRUE(looks_like_file_name("Microsoft Word - ISMIR-2003-Shazam-rev2.doc"));
  EXPECT_TRUE(looks_like_file_name("rados-pdsw.dvi"));
  EXPECT_TRUE(looks_like_file_name("untitled"));
  EXPECT_TRUE(looks_like_file_name("Title"));
  EXPECT_TRUE(looks_like_file_name("main_v2"));
  EXPECT_TRUE(looks_like_file_name("paper2019"));
  EXPECT_FALSE(looks_like_file_name("The Little Manual of API Design"));
  EXPECT_FALSE(looks_like_file_name("Compression"));
}

TEST(Title, CleanTitleIsOneNormalizedLine) {
  EXPECT_EQ(clean_title("  A \xEF\xAC\x81ne\n  title\t "), "A fine title");  // ﬁ ligature
  std::string words;
  for (int i = 0; i < 80; ++i) words += "word ";
  const std::string cut = clean_title(words);
  EXPECT_LE(cut.size(), kMaxTitleBytes);
  EXPECT_GT(cut.size(), kMaxTitleBytes / 2);
  EXPECT_TRUE(cut.ends_with("word"));  // cut at a space
  EXPECT_EQ(clean_title(""), "");
}

TEST(Title, FirstMeaningfulLineAndFileStem) {
  EXPECT_EQ(first_meaningful_line("12\n\nAbstract\n  Retrieval   at   scale \nmore"),
            "Retrieval at scale");
  EXPECT_EQ(first_meaningful_line("1 2 3\nok"), "");
  EXPECT_EQ(file_stem("/a/b/notes.v2.txt"), "notes.v2");
}

TEST(Title, MetadataMustBePrintedOnPageOne) {
  const std::string page1 = "A comprehensive\nstudy of Convergent and\nCommutative Replicated";
  EXPECT_EQ(title_from_metadata("[inria-00555588, v1] A comprehensive study of Convergent", page1),
            "A comprehensive study of Convergent");
  EXPECT_EQ(title_from_metadata("System Model", page1), "");  // not on page 1
  EXPECT_EQ(title_from_metadata("Microsoft Word - comprehensive.doc", page1), "");
  EXPECT_EQ(title_from_metadata("", page1), "");
}

TypesetLine line(std::vector<TypesetPart> parts) {
  TypesetLine l;
  for (const TypesetPart& p : parts) l.size = std::max(l.size, p.size);
  l.parts = std::move(parts);
  return l;
}

TEST(Title, LargestTypeRunOfPageOne) {
  const std::vector<TypesetLine> lines = {
      line({{"A", 30, false}}),  // a dropped capital: larger, but not a title
      line({{"D", 20, false}, {"EEP", 16, true}, {"Learning", 20, false}, {"*", 9, true}}),
      line({{"for", 20, false}, {"Everything", 20, false}}),
      line({{"Jane", 12, false}, {"Doe", 12, false}}),
      line({{"Abstract", 20, false}}),  // same size, but not in the first run
  };
  EXPECT_EQ(title_from_type_sizes(lines), "DEEP Learning for Everything");

  // More than kMaxTitleLines lines in one size: body text, not a title.
  std::vector<TypesetLine> body;
  for (size_t i = 0; i <= kMaxTitleLines; ++i) {
    body.push_back(line({{"some body text", 10, false}}));
  }
  EXPECT_EQ(title_from_type_sizes(body), "");
  EXPECT_EQ(title_from_type_sizes({}), "");
}

TEST(Title, TextDocumentFallbacks) {
  EXPECT_EQ(text_document_title("  Declared   Title ", "Other line here", "/x/n.md"),
            "Declared Title");
  EXPECT_EQ(text_document_title("", "12\nMeeting notes on retrieval\n", "/x/n.txt"),
            "Meeting notes on retrieval");
  EXPECT_EQ(text_document_title("", "ok 1\n\n12", "/x/n.txt"), "ok 1");  // short note
  EXPECT_EQ(text_document_title("", "", "/x/empty-notes.txt"), "empty-notes");
}

}  // namespace
}  // namespace quire::ingest
